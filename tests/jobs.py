"""Running queued jobs in a test, as a worker would: event subscribers' jobs, dispatches, …"""

from django_tasks_db.models import DBTaskResult

from siyu.core.jobs.worker import SiyuWorker


def run_ready_jobs(*, task_path: str | None = None, rounds: int = 20) -> int:
    """Runs every ready job (of ``task_path`` only, when given), then those they queued, until
    none is left or ``rounds`` passes were made. Returns how many ran."""
    worker = SiyuWorker(queue_names=["default"], interval=0, batch=True, backend_name="default",
                        startup_delay=False, max_tasks=None, worker_id="test-worker",
                        excluded_queue_names=[])
    ran = 0
    for _round in range(rounds):
        ready = DBTaskResult.objects.ready()
        if task_path is not None:
            ready = ready.filter(task_path=task_path)
        rows = list(ready)
        if not rows:
            break
        for row in rows:
            row.claim("test-worker")
            worker.run_task(row)
            ran += 1
    return ran
