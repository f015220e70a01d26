"""How console views are guarded and rendered.

``console_view(permission)`` sends anonymous users to the login page, checks the named
permission, and turns domain errors into the right page (404 outside scope, 403 without
permission). ``render_page`` serves the full page or, for htmx requests, just the partial;
``paginate`` pages a list for the ``console/_pagination.html`` partial.
"""

from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import render
from django.utils.cache import patch_vary_headers

from siyu.core.errors import NotFound, PermissionDenied
from siyu.core.permissions import require


def console_view(permission: str | None = None):
    def decorator(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            try:
                if permission:
                    require(request.user, permission)
                elif not request.user.corp_id:
                    raise PermissionDenied("This account belongs to no enterprise.")
                return view(request, *args, **kwargs)
            except NotFound as exc:
                raise Http404(exc.message) from exc
            except PermissionDenied as exc:
                return render(request, "console/403.html", {"message": exc.message}, status=403)

        return wrapped

    return decorator


def render_page(request, template: str, context: dict, *, partial: str | None = None,
                status: int = 200):
    """Full page normally; ``partial`` only for htmx requests that target it.

    History restores (the user pressed Back and htmx had no snapshot) need the full page, and
    ``Vary: HX-Request`` keeps browsers from serving a cached partial as a page.
    """
    htmx = getattr(request, "htmx", None)
    wants_partial = bool(partial and htmx and not htmx.boosted
                         and not htmx.history_restore_request)
    response = render(request, partial if wants_partial else template, context, status=status)
    patch_vary_headers(response, ["HX-Request"])
    return response


PER_PAGE = 20


def paginate(request, queryset, per_page: int = PER_PAGE):
    """The requested page of a list; bad or out-of-range page numbers give a valid page.

    Use with the ``console/_pagination.html`` partial."""
    paginator = Paginator(queryset, per_page)
    page = paginator.get_page(request.GET.get("page"))
    # Templates cannot call get_elided_page_range(number), so the range rides on the page.
    page.elided_range = list(paginator.get_elided_page_range(page.number, on_each_side=2,
                                                             on_ends=1))
    return page
