"""The permission check every view, API handler and service makes before it acts.

It lives in core, below every app, so that the transport's admin pages and the console's
access helpers can use it without importing an app. The actor is duck-typed: any user with
``is_authenticated``, ``corp_id``, ``has_siyu_perm(name)`` and ``get_role_display()``.
"""

from siyu.core.errors import PermissionDenied


def require(actor, permission: str) -> None:
    if actor is None or not getattr(actor, "is_authenticated", False) or not actor.corp_id:
        raise PermissionDenied("Sign in with a user of an enterprise to do this.")
    if not actor.has_siyu_perm(permission):
        raise PermissionDenied(
            f"Your role ({actor.get_role_display()}) lacks the permission “{permission}”."
        )
