"""Sync with WeCom: organisation, follow users, corp tags, customers, customer groups.

``sync_start`` finds the corp's interrupted run (to resume) or creates a new one;
``sync_execute`` carries a run to the end; ``sync_enqueue`` queues one for a worker (console).
"""

from siyu.wecom.sync.engine import STAGE_NAMES, sync_execute
from siyu.wecom.sync.runs import active_run, resumable_run, sync_enqueue, sync_start

__all__ = ["STAGE_NAMES", "active_run", "resumable_run", "sync_enqueue", "sync_execute",
           "sync_start"]
