"""Siyu's job system on top of django-tasks + django-tasks-db.

django-tasks-db has gaps this package covers: no retries (:mod:`.retry`), tasks of dead workers
stay RUNNING forever (:mod:`.heartbeat` + :mod:`.reaper`), one task at a time per process
(:mod:`.supervisor` runs several), no periodic jobs (:mod:`.periodic`), and no place where
admins see failures (:mod:`.selectors`, :mod:`.services`, the /system/jobs/ page).

Task modules import from here: ``from siyu.core.jobs import TransientError, retrying``. This
module imports no models, so task modules stay importable before the app registry is ready.
"""

from siyu.core.jobs.lanes import register_lane
from siyu.core.jobs.periodic import register_periodic
from siyu.core.jobs.priority import URGENT_PRIORITY
from siyu.core.jobs.retry import (
    DEFAULT_POLICY,
    RetryPolicy,
    TransientError,
    WorkerLost,
    retry_policy_for,
    retrying,
)

__all__ = [
    "DEFAULT_POLICY",
    "URGENT_PRIORITY",
    "RetryPolicy",
    "TransientError",
    "WorkerLost",
    "register_lane",
    "register_periodic",
    "retry_policy_for",
    "retrying",
]
