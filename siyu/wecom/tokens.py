"""access_token (and JS-SDK ticket) cache shared by every process through the AccessToken table.

WeCom issues one token per (corp, secret); each row here holds the current one for a corp and a
secret kind. A process keeps the token in memory and stops using it ``REFRESH_MARGIN`` before it
expires (or at once when WeCom rejects it), then looks at the table: another process may
already have stored a fresh one.

Refreshing without a thundering herd: the process that wants a new token first *claims* the
row with one conditional UPDATE (``refresh_claimed_until`` empty or past, and the token still
the one it saw). Exactly one process wins and calls gettoken; the others keep using the old
token while it is still valid, or poll the row until the winner stores the new one. A winner
that dies mid-refresh loses its claim after ``CLAIM_SECONDS``, which is short (gettoken is
sent with a shorter timeout, flow.GETTOKEN_TIMEOUT_SECONDS): a killed claimer must not keep
every other process waiting through most of a welcome's 20 s window. No transaction is held across
the HTTP call, so SQLite's single writer is never blocked by it.

The methods here are plain synchronous database functions; :mod:`siyu.wecom.flow` decides when
to call them and performs the HTTP requests.
"""

import os
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from siyu.accounts.models import Corp
from siyu.wecom.models import AccessToken

REFRESH_MARGIN = timedelta(minutes=5)
CLAIM_SECONDS = 4

# Which Corp field holds the secret a kind of token is made with.
CONTACT = "contact"  # the 客户联系 secret, which the external-contact APIs need
SECRET_FIELDS = {CONTACT: "contact_secret"}


@dataclass(frozen=True)
class TokenStep:
    """What :meth:`TokenCache.resolve` tells the caller to do next."""

    token: str | None = None  # use this token
    fetch: bool = False  # this process holds the claim: fetch a new one, then store() or release()
    # neither: another process is refreshing; ask again in a moment


class TokenCache:
    def __init__(self):
        self._lock = threading.Lock()
        self._memory: dict[tuple[int, str], tuple[str, datetime]] = {}

    # --- memory (no database) ------------------------------------------------------------

    def peek(self, corp_id: int, kind: str) -> str | None:
        """This process's token when it is good for longer than the refresh margin."""
        entry = self._memory.get((corp_id, kind))
        if entry and entry[1] - timezone.now() > REFRESH_MARGIN:
            return entry[0]
        return None

    def forget(self, corp_id: int, kind: str, token: str) -> None:
        with self._lock:
            if self._memory.get((corp_id, kind), ("",))[0] == token:
                del self._memory[(corp_id, kind)]

    def clear(self) -> None:
        with self._lock:
            self._memory.clear()

    def _remember(self, corp_id: int, kind: str, token: str, expires_at: datetime) -> None:
        with self._lock:
            self._memory[(corp_id, kind)] = (token, expires_at)

    # --- shared state (database) -----------------------------------------------------------

    def resolve(self, corp_id: int, kind: str, *, rejected: str | None = None) -> TokenStep:
        """A usable token from the table, or the claim to fetch one, or "wait".

        ``rejected`` is a token WeCom just refused: it is not handed out again even if it looks
        valid, and it is what a claimer replaces.
        """
        now = timezone.now()
        rows = AccessToken.objects.for_corp(corp_id).filter(secret_kind=kind)
        row = rows.first()
        if row is None:
            try:
                with transaction.atomic():
                    AccessToken.objects.create(corp_id=corp_id, secret_kind=kind, token="",
                                               expires_at=now,
                                               refresh_claimed_until=now + _claim())
            except IntegrityError:
                return TokenStep()  # another process created the row, and with it the claim
            return TokenStep(fetch=True)
        usable = bool(row.token) and row.token != rejected
        if usable and row.expires_at - now > REFRESH_MARGIN:
            self._remember(corp_id, kind, row.token, row.expires_at)
            return TokenStep(token=row.token)
        claimed = rows.filter(
            Q(refresh_claimed_until__isnull=True) | Q(refresh_claimed_until__lte=now),
            pk=row.pk, token=row.token,
        ).update(refresh_claimed_until=now + _claim())
        if claimed:
            return TokenStep(fetch=True)
        if usable and row.expires_at > now:
            # Close to expiry but still valid: use it while the claimer refreshes.
            return TokenStep(token=row.token)
        return TokenStep()

    def store(self, corp_id: int, kind: str, token: str, expires_in: int) -> None:
        now = timezone.now()
        expires_at = now + timedelta(seconds=int(expires_in))
        AccessToken.objects.for_corp(corp_id).filter(secret_kind=kind).update(
            token=token, expires_at=expires_at, refresh_claimed_until=None, refreshed_at=now)
        self._remember(corp_id, kind, token, expires_at)

    def release(self, corp_id: int, kind: str) -> None:
        """Gives the claim up after a failed fetch, so another try need not wait it out."""
        AccessToken.objects.for_corp(corp_id).filter(secret_kind=kind).update(
            refresh_claimed_until=None)

    def _after_fork(self) -> None:
        self._lock = threading.Lock()


def _claim() -> timedelta:
    return timedelta(seconds=CLAIM_SECONDS)


def credentials_for(corp_id: int, kind: str) -> tuple[str, str]:
    """(CorpID, secret) for gettoken, read fresh so a changed secret is used at the next
    refresh. The secret field decrypts itself."""
    field = SECRET_FIELDS[kind]
    corp = Corp.objects.only("corp_id", field).get(pk=corp_id)
    return corp.corp_id, getattr(corp, field)


token_cache = TokenCache()
os.register_at_fork(after_in_child=token_cache._after_fork)
