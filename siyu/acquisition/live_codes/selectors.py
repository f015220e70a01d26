"""Reads for channel live codes. Admins and managers (``acquisition.manage``) see every code
of their enterprise; anyone else sees the codes they take customers from: as a member
themselves or through a department they belong to (or one above it)."""

from django.db.models import Q

from siyu.accounts.models import Department
from siyu.accounts.scoping import require
from siyu.acquisition.models import LiveCode
from siyu.core.errors import NotFound, PermissionDenied

MANAGE = "acquisition.manage"


def _signed_in(actor):
    if actor is None or not getattr(actor, "is_authenticated", False) or not actor.corp_id:
        raise PermissionDenied("Sign in with a user of an enterprise to do this.")


def live_codes_for(actor):
    _signed_in(actor)
    codes = LiveCode.objects.for_corp(actor.corp_id)
    if actor.has_siyu_perm(MANAGE):
        return codes
    if actor.employee_id is None:
        return codes.none()
    paths = list(Department.objects.for_corp(actor.corp_id)
                 .filter(employees__id=actor.employee_id).values_list("path", flat=True))
    # A department member covers its whole subtree: my department or any above it.
    ancestors = {path[: i + 1] for path in paths for i, ch in enumerate(path) if ch == "/"}
    member = Q(members__employee_id=actor.employee_id)
    if ancestors:
        member |= Q(members__department__path__in=ancestors)
    return codes.filter(member).distinct()


def live_code_get_for(actor, live_code_id) -> LiveCode:
    code = live_codes_for(actor).filter(pk=live_code_id).first()
    if code is None:
        raise NotFound("This live code does not exist, or it is outside what your role can see.")
    return code


def live_code_get_for_manage(actor, live_code_id) -> LiveCode:
    require(actor, MANAGE)
    return live_code_get_for(actor, live_code_id)
