from django.utils.functional import SimpleLazyObject


def navigation(request):
    # Imported late: context processors load before the URLconf is ready. Lazy, so htmx
    # partials and other templates without a sidebar never resolve the navigation's URLs.
    from siyu.console.navigation import navigation_for

    return {"nav_sections": SimpleLazyObject(lambda: navigation_for(request))}
