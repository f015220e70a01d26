"""How console views are guarded and rendered.

``console_view(permission)`` sends anonymous users to the login page, checks the named
permission, and turns domain errors into the right page (404 outside scope, 403 without
permission). ``render_page`` serves the full page or, for htmx requests, just the partial.
"""

from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.http import Http404
from django.shortcuts import render

from siyu.accounts.scoping import require
from siyu.core.errors import NotFound, PermissionDenied


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
    """Full page normally; ``partial`` only for htmx requests that target it."""
    if partial and getattr(request, "htmx", False) and not request.htmx.boosted:
        return render(request, partial, context, status=status)
    return render(request, template, context, status=status)
