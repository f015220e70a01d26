"""Reads for channel live codes. Admins and managers (``acquisition.manage``) see every code
of their enterprise; anyone else sees the codes they take customers from: as a member
themselves or through a department they belong to (or one above it)."""

import datetime

from django.db.models import Count, Q
from django.utils import timezone

from siyu.accounts.models import Department
from siyu.accounts.scoping import require, visible_employee_ids
from siyu.acquisition.models import LiveCode, LiveCodeAdd
from siyu.core.errors import NotFound, PermissionDenied
from siyu.engagement.models import WelcomeDelivery

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


# For the console pages: the list with its add counts, and a code's recent adds and their
# welcome messages. Codes come from ``live_codes_for(actor)``; adds and welcomes are narrowed to
# the employees the actor's role covers (``visible_employee_ids``), as the statistics are, so a
# staff member sees their own customers through a shared code.


def _visible_adds_q(actor, prefix: str = "") -> Q:
    ids = visible_employee_ids(actor)
    return Q() if ids is None else Q(**{f"{prefix}employee_id__in": ids})


def _today_start() -> datetime.datetime:
    """Midnight of today in the console's time zone (China time by default)."""
    local = timezone.localtime()
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


def live_code_list(actor, *, q: str = "", status: str = ""):
    """The codes the actor sees, newest first, each with ``adds_today`` and ``adds_total``."""
    codes = live_codes_for(actor)
    if q:
        codes = codes.filter(name__icontains=q)
    if status in LiveCode.Status.values:
        codes = codes.filter(status=status)
    visible = _visible_adds_q(actor, "adds__")
    # The scoping join in live_codes_for may repeat a code; distinct counts stay exact.
    return codes.annotate(
        adds_total=Count("adds", filter=visible, distinct=True),
        adds_today=Count("adds", filter=visible & Q(adds__added_at__gte=_today_start()),
                         distinct=True),
    ).order_by("-created_at", "-id")


def live_code_recent_adds(actor, live_code: LiveCode, limit: int = 20) -> list[LiveCodeAdd]:
    return list(LiveCodeAdd.objects.for_corp(live_code.corp_id)
                .filter(_visible_adds_q(actor), live_code=live_code)
                .select_related("customer", "employee").order_by("-added_at", "-id")[:limit])


def live_code_recent_welcomes(actor, live_code: LiveCode,
                              limit: int = 20) -> list[WelcomeDelivery]:
    """Welcome deliveries of this code's latest adds (one per add event, matched by the
    WeCom event's dedupe key), newest first: so a failed or late welcome shows here."""
    keys = list(LiveCodeAdd.objects.for_corp(live_code.corp_id)
                .filter(_visible_adds_q(actor), live_code=live_code)
                .order_by("-added_at", "-id").values_list("event_key", flat=True)[:limit])
    return list(WelcomeDelivery.objects.for_corp(live_code.corp_id)
                .filter(dedupe_key__in=keys)
                .select_related("customer", "employee").order_by("-created_at", "-id"))
