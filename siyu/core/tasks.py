"""Built-in tasks of the core app."""

from django_tasks import task


@task()
def ping(*, corp_id: int | None = None) -> str:
    """Does nothing but answer; enqueue it to check that workers are picking up jobs."""
    return "pong"
