"""Retry policies for tasks.

Stack ``@retrying(...)`` with django-tasks' ``@task()`` in either order::

    @retrying(max_attempts=5, base_delay=2.0)
    @task()
    def sync_contacts(*, corp_id: int) -> None: ...

When the task raises one of ``retry_on`` and fewer than ``max_attempts`` attempts were made, the
worker puts the task back to READY with ``run_after = now + base_delay * 2 ** (attempt - 1)``
(capped at ``max_delay``, plus up to 10 % jitter) instead of marking it FAILED. The attempt
number is ``len(worker_ids)``: every claim appends the claiming worker's id, so a run cut short
by a dead worker counts as an attempt too. After the last attempt the task is FAILED with its
traceback kept.

Tasks without the decorator get :data:`DEFAULT_POLICY`: only :class:`TransientError` is retried,
three attempts in all. Services raise ``TransientError`` for "try again later" conditions.
"""

import random
from dataclasses import dataclass

from django.db import InterfaceError, OperationalError
from django.utils.module_loading import import_string
from django_tasks_db.compat import Task

POLICY_ATTRIBUTE = "siyu_retry_policy"


class TransientError(Exception):
    """A failure that is expected to go away (a timeout, a rate limit, a busy upstream)."""


class WorkerLost(Exception):
    """Recorded on a task whose worker stopped sending heartbeats while running it."""


# HTTP failures are not listed: only siyu.wecom talks HTTP, and its client turns transport
# errors and WeCom's "busy" answers into TransientError.
DEFAULT_RETRY_ON: tuple[type[BaseException], ...] = (
    TransientError,
    OperationalError,
    InterfaceError,
)


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 5
    base_delay: float = 2.0
    max_delay: float = 600.0
    retry_on: tuple[type[BaseException], ...] = DEFAULT_RETRY_ON

    def __post_init__(self):
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1.")
        if self.base_delay < 0 or self.max_delay < 0:
            raise ValueError("Retry delays must not be negative.")

    def should_retry(self, exc: BaseException, attempt: int) -> bool:
        return attempt < self.max_attempts and isinstance(exc, self.retry_on)

    def base_delay_for(self, attempt: int) -> float:
        """Delay before the attempt after ``attempt`` (1-based), without jitter."""
        return min(self.base_delay * 2 ** (attempt - 1), self.max_delay)

    def delay_for(self, attempt: int) -> float:
        # Jitter spreads out retries of many tasks that failed together (e.g. an outage).
        delay = self.base_delay_for(attempt)
        return delay + random.uniform(0, delay * 0.1)


DEFAULT_POLICY = RetryPolicy(max_attempts=3, retry_on=(TransientError,))


def retrying(*, max_attempts: int = 5, base_delay: float = 2.0, max_delay: float = 600.0,
             retry_on: tuple[type[BaseException], ...] = DEFAULT_RETRY_ON):
    """Give a task a retry policy; works above or below ``@task()``."""
    policy = RetryPolicy(max_attempts=max_attempts, base_delay=base_delay, max_delay=max_delay,
                         retry_on=tuple(retry_on))

    def apply(target):
        # The policy lives on the function, which both the Task and any copy made by
        # ``Task.using()`` share, so the worker finds it from the task path alone.
        func = target.func if isinstance(target, Task) else target
        setattr(func, POLICY_ATTRIBUTE, policy)
        return target

    return apply


def retry_policy_for(task: Task) -> RetryPolicy:
    return getattr(task.func, POLICY_ATTRIBUTE, DEFAULT_POLICY)


def retry_policy_for_path(task_path: str) -> RetryPolicy:
    """Policy of the task at ``task_path``; the default when it can no longer be imported."""
    try:
        target = import_string(task_path)
    except ImportError:
        return DEFAULT_POLICY
    return retry_policy_for(target) if isinstance(target, Task) else DEFAULT_POLICY
