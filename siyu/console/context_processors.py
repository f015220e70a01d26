def navigation(request):
    from siyu.console.navigation import navigation_for

    return {"nav_sections": navigation_for(request)}
