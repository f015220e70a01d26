"""`siyu wecom sync --corp-id ID [--full]`: sync an enterprise with WeCom, resuming an
interrupted sync, with a progress bar per stage and a summary of what changed."""

from django.core.management.base import CommandError

help = "Sync departments, employees, customers, corp tags and customer groups from WeCom."

BAR_WIDTH = 30
STAGE_LABELS = {
    "org": "Departments and employees",
    "follow_users": "Follow users",
    "tags": "Corp tags",
    "customers": "Customers",
    "follow_check": "Ended relations",
    "groups": "Customer groups",
}


def add_arguments(parser):
    parser.add_argument("--corp-id", required=True, help="The enterprise's CorpID.")
    parser.add_argument("--full", action="store_true",
                        help="Also remove what WeCom no longer has: end follow relations, "
                             "delete departments and tags, mark groups dismissed.")
    parser.add_argument("--concurrency", type=int, default=None,
                        help="WeCom requests in flight at once (default 4).")


class ProgressLine:
    """One line per stage, redrawn in place with a carriage return."""

    def __init__(self, out, interactive: bool):
        self.out, self.interactive = out, interactive
        self.stage = None
        self.last = ""

    def update(self, stage: str, entry: dict) -> None:
        if stage != self.stage:
            self.close()
            self.stage = stage
        done, total = entry.get("done", 0), entry.get("total", 0)
        filled = BAR_WIDTH if not total else min(BAR_WIDTH, BAR_WIDTH * done // total)
        items = f" · {entry['items']} customer records" if "items" in entry else ""
        self.last = (f"{STAGE_LABELS.get(stage, stage):<27} [{'#' * filled}"
                     f"{'.' * (BAR_WIDTH - filled)}] {done}/{total}{items}")
        if self.interactive:
            self.out.write("\r" + self.last, ending="")
            self.out.flush()

    def close(self) -> None:
        if self.stage is not None:
            self.out.write(("\r" if self.interactive else "") + self.last)
        self.stage = None


def summary_lines(changes: dict) -> list[str]:
    if not any(entry.get(a) for entry in changes.values()
               for a in ("created", "updated", "deleted")):
        return ["Nothing changed: 0 created, 0 updated, 0 deleted."]
    lines = []
    for kind, entry in sorted(changes.items()):
        lines.append(f"  {kind:<15} {entry.get('created', 0):>6} created "
                     f"{entry.get('updated', 0):>6} updated {entry.get('deleted', 0):>6} deleted")
        for action, label in entry.get("examples", []):
            lines.append(f"      {action}: {label}")
    return lines


def handle(command, *, corp_id, full=False, concurrency=None, **_options):
    from siyu.accounts.services import corp_get
    from siyu.core.errors import DomainError
    from siyu.wecom.sync import sync_execute, sync_start

    try:
        corp = corp_get(corp_id)
        run, resumed = sync_start(corp=corp, full=full, triggered_by="cli")
    except DomainError as exc:
        raise CommandError(exc.message) from exc
    kind = "Full sync" if run.full else "Sync"
    if resumed:
        command.stdout.write(f"Resuming {kind.lower()} #{run.pk} of {corp.name} from where it "
                             f"stopped (stage {run.stage or 'start'}).")
    else:
        command.stdout.write(f"{kind} #{run.pk} of {corp.name} ({corp.corp_id}).")
    bar = ProgressLine(command.stdout, interactive=command.stdout.isatty())
    try:
        run = sync_execute(run, on_progress=bar.update, concurrency=concurrency)
    except DomainError as exc:
        bar.close()
        raise CommandError(exc.message) from exc
    except KeyboardInterrupt:
        bar.close()
        raise CommandError(f"Sync #{run.pk} interrupted. Run the same command again to resume "
                           "from where it stopped.") from None
    except Exception as exc:
        bar.close()
        raise CommandError(f"Sync #{run.pk} failed: {exc}. Run the same command again to "
                           "resume from where it stopped.") from exc
    bar.close()
    command.stdout.write(f"Sync #{run.pk} finished. What changed:")
    for line in summary_lines(run.changes):
        command.stdout.write(line)
