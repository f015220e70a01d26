def navigation(request):
    # Imported late: context processors load before the URLconf is ready.
    from siyu.console.navigation import navigation_for

    return {"nav_sections": navigation_for(request)}
