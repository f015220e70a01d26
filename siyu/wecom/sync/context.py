"""What a running sync carries between stages: the client, the run row and its three JSON
documents (progress, state, changes), persisted together so a crash loses at most one page."""

from collections.abc import Callable
from dataclasses import dataclass, field

from asgiref.sync import sync_to_async
from django.db import transaction
from django.utils import timezone

from siyu.wecom.models import SyncRun

EXAMPLES_PER_ACTION = 3


@dataclass
class SyncContext:
    run: SyncRun
    client: object  # the async WeComClient (or a test double with the same methods)
    concurrency: int = 4
    users_per_call: int = 10
    # Called after every committed page as ``after_page(stage, pages_committed)``; tests use
    # it to interrupt a run at a chosen point.
    after_page: Callable[[str, int], None] | None = None
    # Called with ``(stage, progress_of_stage)`` whenever progress moves (the CLI's bar).
    on_progress: Callable[[str, dict], None] | None = None
    pages: int = field(default=0)

    @property
    def corp(self):
        return self.run.corp

    @property
    def full(self) -> bool:
        return self.run.full

    @property
    def state(self) -> dict:
        return self.run.state

    # --- bookkeeping (sync code: call inside ``db()``) ---------------------------------------

    def stage_done(self, stage: str) -> bool:
        return stage in self.run.state.get("completed", [])

    def mark_stage_done(self, stage: str) -> None:
        completed = self.run.state.setdefault("completed", [])
        if stage not in completed:
            completed.append(stage)
        self.save()

    def progress(self, stage: str, *, done: int | None = None, total: int | None = None,
                 add: int = 0, **extra) -> None:
        entry = self.run.progress.setdefault(stage, {"done": 0, "total": 0})
        if total is not None:
            entry["total"] = total
        if done is not None:
            entry["done"] = done
        entry["done"] += add
        entry.update(extra)
        if self.on_progress is not None:
            self.on_progress(stage, dict(entry))

    def count(self, kind: str, action: str, example: str = "") -> None:
        """Records one created/updated/deleted object of ``kind`` (e.g. "customers")."""
        entry = self.run.changes.setdefault(
            kind, {"created": 0, "updated": 0, "deleted": 0, "examples": []})
        entry[action] = entry.get(action, 0) + 1
        # A few per action, so the rare deletions are not crowded out by many creations.
        shown = sum(1 for a, _label in entry["examples"] if a == action)
        if example and shown < EXAMPLES_PER_ACTION:
            entry["examples"].append([action, example[:80]])

    def save(self) -> None:
        """Writes progress, state and changes with a heartbeat. Called inside the same
        transaction as the page's upserts, so saved cursors never run ahead of the data."""
        self.run.heartbeat_at = timezone.now()
        SyncRun.objects.for_corp(self.run.corp_id).filter(pk=self.run.pk).update(
            stage=self.run.stage, progress=self.run.progress, state=self.run.state,
            changes=self.run.changes, heartbeat_at=self.run.heartbeat_at,
        )

    def beat(self) -> None:
        """Only the heartbeat: progress and state are saved with the data they describe."""
        self.run.heartbeat_at = timezone.now()
        SyncRun.objects.for_corp(self.run.corp_id).filter(pk=self.run.pk).update(
            heartbeat_at=self.run.heartbeat_at)

    def enter_stage(self, stage: str) -> None:
        self.run.stage = stage
        self.progress(stage)
        self.save()

    def page_committed(self, stage: str) -> None:
        self.pages += 1
        if self.after_page is not None:
            self.after_page(stage, self.pages)

    # --- async helpers -----------------------------------------------------------------------

    async def db(self, fn, *args, **kwargs):
        """Runs ``fn`` in the thread that owns the database connection, in a transaction that
        also saves the run, so the page's writes and its cursor commit together."""

        def atomic_call():
            with transaction.atomic():
                result = fn(*args, **kwargs)
                self.save()
            return result

        return await sync_to_async(atomic_call, thread_sensitive=True)()
