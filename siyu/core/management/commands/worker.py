import logging
import os

from django.core.management.base import BaseCommand, CommandError
from django_tasks_db.backend import DatabaseBackend
from django_tasks_db.compat import DEFAULT_TASK_BACKEND_ALIAS, TASKS_LOGGER, task_backends

from siyu.core.jobs.heartbeat import new_worker_id
from siyu.core.jobs.supervisor import PARENT_PID_ENV, Supervisor
from siyu.core.jobs.worker import SiyuWorker

# Enough for one process to keep a burst of WeCom calls (150 ms each) in flight; see
# bench/burst.py.
DEFAULT_THREADS = 16


def positive_int(value: str) -> int:
    number = int(value)
    if number < 1:
        raise ValueError(value)
    return number


def non_negative_float(value: str) -> float:
    number = float(value)
    if not number >= 0:
        raise ValueError(value)
    return number


def worker_id(value: str) -> str:
    if not value or len(value) > 64:
        raise ValueError(value)
    return value


class Command(BaseCommand):
    help = (
        "Run background jobs: one worker process, or with --processes N a supervisor that keeps "
        "N worker processes running. Workers send heartbeats, re-queue the tasks of workers "
        "that died and retry transient failures with backoff."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--processes", type=positive_int,
            default=positive_int(os.environ.get("SIYU_WORKER_PROCESSES", "1")),
            help="Worker processes to run; above 1 this process supervises them (default: 1).",
        )
        parser.add_argument(
            "--threads", type=positive_int,
            default=positive_int(os.environ.get("SIYU_WORKER_THREADS", str(DEFAULT_THREADS))),
            help="Tasks each worker process runs at once, each in its own thread with its own "
                 "database connection; tasks mostly wait on WeCom, so threads overlap those "
                 "waits (default: %(default)s, or SIYU_WORKER_THREADS).",
        )
        parser.add_argument(
            "--queue", default="default",
            help="Queues to process, comma-separated; '*' for all (default: %(default)s).",
        )
        parser.add_argument(
            "--interval", type=non_negative_float, default=1.0,
            help="Seconds to wait when the queue is empty (default: %(default)s).",
        )
        parser.add_argument(
            "--max-tasks", type=positive_int, default=None,
            help="Exit after this many tasks (a supervisor then starts a fresh process).",
        )
        parser.add_argument(
            "--batch", action="store_true",
            help="Run the tasks that are ready now, then exit (single process only).",
        )
        parser.add_argument(
            "--grace", type=non_negative_float, default=30.0,
            help="Seconds a supervisor waits for running tasks on shutdown (default: 30).",
        )
        # Set by the supervisor for its children; unique across all workers.
        parser.add_argument("--worker-id", type=worker_id, default=None,
                            help="Worker id (default: host name and a random suffix).")

    def handle(self, *args, processes, threads, queue, interval, max_tasks, batch, grace,
               worker_id, verbosity, **options):
        self._configure_logging(verbosity)
        backend = task_backends[DEFAULT_TASK_BACKEND_ALIAS]
        if not isinstance(backend, DatabaseBackend):
            raise CommandError(
                f"siyu worker runs tasks stored in the database, but TASKS['default'] uses "
                f"{type(backend).__name__}. Set SIYU_TASKS_BACKEND=django_tasks_db.DatabaseBackend."
            )
        queues = [q.strip() for q in queue.split(",") if q.strip()]
        if not queues:
            raise CommandError("--queue needs at least one queue name, or '*' for all queues.")

        if processes > 1:
            if batch:
                raise CommandError("--batch runs a single process; drop --processes or --batch.")
            worker_args = ["--queue", ",".join(queues), "--interval", str(interval),
                           "--threads", str(threads)]
            if max_tasks:
                worker_args += ["--max-tasks", str(max_tasks)]
            Supervisor(processes=processes, worker_args=worker_args,
                       grace_seconds=grace).run()
            return

        parent_pid = os.environ.get(PARENT_PID_ENV)
        worker = SiyuWorker(
            queue_names=queues,
            interval=interval,
            batch=batch,
            backend_name=DEFAULT_TASK_BACKEND_ALIAS,
            # Siblings started together spread their first polls out.
            startup_delay=bool(parent_pid),
            max_tasks=max_tasks,
            worker_id=worker_id or new_worker_id(),
            excluded_queue_names=[],
            parent_pid=int(parent_pid) if parent_pid else None,
            threads=threads,
        )
        worker.configure_signals()
        worker.run()

    def _configure_logging(self, verbosity: int) -> None:
        level = {0: logging.CRITICAL, 1: logging.INFO}.get(verbosity, logging.DEBUG)
        # A line per task started and finished drowns the terminal at live-callback rates;
        # failures are logged at ERROR and still show. -v 2 shows every task.
        task_level = {0: logging.CRITICAL, 1: logging.WARNING}.get(verbosity, logging.DEBUG)
        for name, name_level in (("siyu.jobs", level), ("django_tasks_db", level),
                                 (TASKS_LOGGER, task_level)):
            logger = logging.getLogger(name)
            logger.setLevel(name_level)
            if not logger.hasHandlers():
                logger.addHandler(logging.StreamHandler(self.stderr))
