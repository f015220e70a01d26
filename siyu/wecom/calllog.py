"""Every WeCom API call, recorded in ApiCall without a database write per call.

Calls are appended to a process-wide buffer and written with one ``bulk_create`` when at least
``SIYU_WECOM_CALL_LOG_FLUSH_ROWS`` rows are waiting or ``SIYU_WECOM_CALL_LOG_FLUSH_SECONDS``
have passed since the last write — so an isolated call is written at once and a burst costs one
insert per second. The tail of a burst is written after each job (``task_finished``), after
each web request (``request_finished``), when a client is closed, by the next call, and at
interpreter exit.

Why buffered, and why on the calling thread (``bench/wecom_calllog.py``): an insert + commit
per call measured 3.5x (SQLite) and 6.5x (PostgreSQL, fsync off) the cost of the batched insert
per call, and at 150 calls/s it is 150 write transactions a second instead of one — on SQLite
each takes the single write lock that callback ingress and workers wait on, and with durable
commits each is a disk flush. A writer thread would keep even the batched insert off the
calling path, but it needs its own connection, which under SQLite waits on every open write
transaction of the process and cannot see rows (the corp) the caller has not committed yet;
the calling thread has neither problem, and one insert a second is cheap enough to pay inline.

Trade-offs, deliberately accepted for a debugging log: rows written inside a caller's
transaction roll back with it (so call WeCom outside ``transaction.atomic()``, which also keeps
SQLite writers unblocked); a process killed outright loses the rows not yet written (the last
second's at most). The flush at exit writes only to the database the rows were recorded
against: a test run has by then dropped its test database and pointed the settings back at the
development one, where those rows must not land.
"""

import atexit
import logging
import os
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.core.signals import request_finished
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections, transaction
from django.utils import timezone
from django_tasks.signals import task_finished

from siyu.accounts.models import Corp
from siyu.wecom.clientconf import conf
from siyu.wecom.models import ApiCall

logger = logging.getLogger("siyu.wecom.calllog")

PRUNE_EVERY_SECONDS = 600
PRUNE_BATCH = 5000
PRUNE_MAX_BATCHES = 20


@dataclass(slots=True)
class CallRecord:
    corp_id: int
    api: str
    errcode: int | None
    errmsg: str
    http_status: int | None
    latency_ms: int
    attempt: int
    created_at: datetime


class CallLog:
    def __init__(self):
        self._lock = threading.Lock()
        self._rows: list[CallRecord] = []
        self._last_flush = float("-inf")  # monotonic; the first call is written at once
        self._last_prune = time.monotonic()
        self._database = None  # where the buffered rows belong (see flush_at_exit)

    def record(self, *, corp_id: int, api: str, errcode: int | None, errmsg: str = "",
               http_status: int | None = None, latency_ms: int = 0, attempt: int = 1) -> None:
        row = CallRecord(corp_id, api, errcode, (errmsg or "")[:255], http_status,
                         max(0, int(latency_ms)), attempt, timezone.now())
        with self._lock:
            self._rows.append(row)
            self._database = _database_name()

    def pending(self) -> int:
        return len(self._rows)

    def due(self) -> bool:
        if not self._rows:
            return False
        return (len(self._rows) >= conf("SIYU_WECOM_CALL_LOG_FLUSH_ROWS")
                or time.monotonic() - self._last_flush >= conf("SIYU_WECOM_CALL_LOG_FLUSH_SECONDS"))

    def flush_if_due(self) -> int:
        return self.flush() if self.due() else 0

    def flush(self) -> int:
        """Writes the buffered rows; returns how many were written. Never raises a database
        error: losing debug rows must not fail the call that produced them."""
        with self._lock:
            rows, self._rows = self._rows, []
            self._last_flush = time.monotonic()
        if not rows:
            return 0
        try:
            written = self._write(rows)
        except DatabaseError:
            logger.exception("Could not write %d WeCom API call rows; they are dropped.",
                             len(rows))
            return 0
        self._prune_if_due()
        return written

    def flush_at_exit(self) -> None:
        if not self._rows or self._database != _database_name():
            return
        try:
            self.flush()
        except Exception:  # the interpreter is going down; never fail its exit over debug rows
            logger.exception("Could not write WeCom API call rows at exit.")

    def discard(self) -> None:
        with self._lock:
            self._rows = []

    @staticmethod
    def _write(rows: list[CallRecord]) -> int:
        # A corp deleted while its rows waited (or, in tests, rolled back) would fail the foreign
        # key at commit — possibly the commit of the caller's own transaction.
        corp_ids = {row.corp_id for row in rows}
        existing = set(Corp.objects.filter(pk__in=corp_ids).values_list("pk", flat=True))
        objs = [ApiCall(corp_id=r.corp_id, api=r.api, errcode=r.errcode, errmsg=r.errmsg,
                        http_status=r.http_status, latency_ms=r.latency_ms, attempt=r.attempt,
                        created_at=r.created_at)
                for r in rows if r.corp_id in existing]
        with transaction.atomic():
            ApiCall.objects.bulk_create(objs, batch_size=500)
        return len(objs)

    def _prune_if_due(self) -> None:
        if time.monotonic() - self._last_prune < PRUNE_EVERY_SECONDS:
            return
        self._last_prune = time.monotonic()
        try:
            prune_api_calls(older_than=timedelta(days=conf("SIYU_WECOM_CALL_LOG_DAYS")))
        except DatabaseError:
            logger.exception("Could not prune old WeCom API call rows.")

    def _after_fork(self) -> None:
        # A forked child must not write its parent's rows a second time.
        self._lock = threading.Lock()
        self._rows = []


def _database_name():
    return connections[DEFAULT_DB_ALIAS].settings_dict.get("NAME")


def prune_api_calls(*, older_than: timedelta) -> int:
    """Deletes rows older than ``older_than`` in short batches (SQLite has one writer)."""
    cutoff = timezone.now() - older_than
    deleted = 0
    for _batch in range(PRUNE_MAX_BATCHES):
        ids = list(ApiCall.objects.unscoped().filter(created_at__lt=cutoff)
                   .values_list("id", flat=True)[:PRUNE_BATCH])
        if not ids:
            break
        deleted += ApiCall.objects.unscoped().filter(id__in=ids).delete()[0]
    return deleted


call_log = CallLog()
os.register_at_fork(after_in_child=call_log._after_fork)
atexit.register(call_log.flush_at_exit)


def _flush_after_task(sender, **kwargs):
    call_log.flush()


def _flush_after_request(sender, **kwargs):
    if call_log.pending():
        call_log.flush()


task_finished.connect(_flush_after_task, dispatch_uid="siyu.wecom.calllog.task")
request_finished.connect(_flush_after_request, dispatch_uid="siyu.wecom.calllog.request")
