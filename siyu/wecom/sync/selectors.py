"""Reads of sync runs for the console (admins: "wecom.manage"), shaped for the templates."""

from dataclasses import dataclass

from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from siyu.accounts.scoping import restrict
from siyu.core.errors import NotFound
from siyu.wecom.models import SyncRun
from siyu.wecom.sync.runs import stale_after

PERMISSION = "wecom.manage"

# In the order a run goes through them; "follow_check" only runs in a full sync.
STAGES = (
    ("org", gettext_lazy("Departments and employees")),
    ("follow_users", gettext_lazy("Members with customer contact")),
    ("tags", gettext_lazy("Corp tags (both ways)")),
    ("customers", gettext_lazy("Customers and follow relations")),
    ("follow_check", gettext_lazy("Relations ended in WeCom")),
    ("groups", gettext_lazy("Customer groups and members")),
)

KINDS = {
    "departments": gettext_lazy("Departments"),
    "employees": gettext_lazy("Employees"),
    "tag_groups": gettext_lazy("Tag groups"),
    "tags": gettext_lazy("Tags"),
    "tags_pushed": gettext_lazy("Tags created in WeCom"),
    "customers": gettext_lazy("Customers"),
    "follows": gettext_lazy("Follow relations"),
    "customer_tags": gettext_lazy("Customer tags"),
    "groups": gettext_lazy("Customer groups"),
    "group_members": gettext_lazy("Group members"),
}

ACTIONS = {
    "created": gettext_lazy("created"),
    "updated": gettext_lazy("updated"),
    "deleted": gettext_lazy("removed"),
}


@dataclass(frozen=True)
class StageView:
    key: str
    label: str
    done: int
    total: int
    status: str  # "done", "current", "pending"
    items: int | None = None

    @property
    def percent(self) -> int:
        if self.status == "done":
            return 100
        return min(100, 100 * self.done // self.total) if self.total else 0


@dataclass(frozen=True)
class ChangeRow:
    kind: str
    label: str
    created: int
    updated: int
    deleted: int
    examples: list


def sync_runs_for(actor) -> QuerySet[SyncRun]:
    return restrict(SyncRun.objects.all(), actor, PERMISSION).defer("state")


def sync_run_get_for(actor, run_id) -> SyncRun:
    try:
        return restrict(SyncRun.objects.all(), actor, PERMISSION).get(pk=int(run_id))
    except (SyncRun.DoesNotExist, ValueError, TypeError) as exc:
        raise NotFound(_("This sync does not exist.")) from exc


def run_is_live(run: SyncRun) -> bool:
    """Whether the page should keep polling: queued, or running with a recent heartbeat."""
    if run.status == SyncRun.Status.QUEUED:
        return True
    return run.status == SyncRun.Status.RUNNING and not run_is_stalled(run)


def run_is_stalled(run: SyncRun) -> bool:
    return (run.status == SyncRun.Status.RUNNING and run.heartbeat_at is not None
            and run.heartbeat_at < timezone.now() - stale_after())


def run_stages(run: SyncRun) -> list[StageView]:
    completed = set((run.state or {}).get("completed", []))
    progress = run.progress or {}
    views = []
    for key, label in STAGES:
        if key == "follow_check" and not run.full:
            continue
        # The ended-relations check is the tail of the customers stage.
        stage = "customers" if key == "follow_check" else key
        if run.status == SyncRun.Status.SUCCEEDED or stage in completed:
            status = "done"
        elif stage == run.stage and key in progress:
            status = "current"
        else:
            status = "pending"
        entry = progress.get(key) or {}
        views.append(StageView(key=key, label=str(label), done=entry.get("done", 0),
                               total=entry.get("total", 0), status=status,
                               items=entry.get("items")))
    return views


def run_changes(run: SyncRun) -> list[ChangeRow]:
    rows = []
    for kind, label in KINDS.items():
        entry = (run.changes or {}).get(kind)
        if not entry:
            continue
        rows.append(ChangeRow(
            kind=kind, label=str(label), created=entry.get("created", 0),
            updated=entry.get("updated", 0), deleted=entry.get("deleted", 0),
            examples=[(str(ACTIONS.get(action, action)), text)
                      for action, text in entry.get("examples", [])],
        ))
    return rows


def run_change_total(run: SyncRun) -> int:
    return sum(row.created + row.updated + row.deleted for row in run_changes(run))
