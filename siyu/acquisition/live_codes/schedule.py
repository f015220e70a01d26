"""Re-pointing contact ways by the clock: at the edges of duty slots (time-slot codes) and at
China midnight when daily caps start over. A periodic hook in every worker runs
:func:`live_codes_refresh_due`; each due code is claimed with a conditional UPDATE of its
``next_refresh_at``, so concurrent workers refresh it once."""

import logging
from datetime import timedelta

from django.utils import timezone

from siyu.acquisition.live_codes import rotation
from siyu.acquisition.live_codes.services import live_code_refresh
from siyu.acquisition.models import LiveCode

logger = logging.getLogger("siyu.acquisition")

# A refresh WeCom did not take is tried again this much later rather than at the next edge,
# which may be hours away.
RETRY_AFTER = timedelta(seconds=60)
BATCH = 100


def live_codes_refresh_due(*, now=None) -> int:
    """Refreshes every active code whose ``next_refresh_at`` has come; returns how many."""
    now = now or timezone.now()
    due = list(LiveCode.objects.unscoped().select_related("corp")
               .filter(status=LiveCode.Status.ACTIVE, next_refresh_at__lte=now)
               .order_by("next_refresh_at")[:BATCH])
    refreshed = 0
    for live_code in due:
        members = rotation.members_from_rows(live_code.corp, live_code)
        following = rotation.next_refresh_at(members, live_code.mode, now=now)
        claimed = (LiveCode.objects.unscoped()
                   .filter(pk=live_code.pk, next_refresh_at=live_code.next_refresh_at)
                   .update(next_refresh_at=following))
        if not claimed:
            continue
        try:
            live_code_refresh(live_code=live_code, now=now)
        except Exception:
            logger.exception("Live code %s could not be re-pointed at %s; trying again in %s.",
                             live_code.pk, now, RETRY_AFTER)
            LiveCode.objects.unscoped().filter(pk=live_code.pk).update(
                next_refresh_at=now + RETRY_AFTER)
            continue
        refreshed += 1
    return refreshed
