def navigation_for(request):
    return []
