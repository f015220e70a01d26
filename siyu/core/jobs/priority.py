"""Urgent tasks: priority at or above ``URGENT_PRIORITY`` (django-tasks priorities run from -100
to 100, default 0).

A threaded worker (``siyu worker --threads N``) claims urgent tasks first, and while urgent work
keeps arriving it runs at most ``BACKGROUND_SLOTS_WHEN_BUSY`` ordinary tasks at a time: the
ordering of the queue alone is not enough, because ordinary tasks already running compete for
the CPU with the urgent ones (a welcome message due within 20 s must not wait behind the
customer upserts of earlier adds). Once no urgent task has been seen for ``CALM_SECONDS``, every
idle thread takes ordinary tasks again and the backlog drains. A lane that keeps finding work
(:mod:`.lanes`, e.g. the welcome lane) counts as urgent work arriving.

Urgent tasks are taken newest first: they carry deadlines, and under overload first in, first
out serves every task after its deadline, while newest first serves as many as the capacity
allows in time and leaves the hopeless ones for later.

No task of Siyu's own is urgent today (add welcomes moved to the welcome lane); the priority is
there for tasks enqueued with ``.using(priority=URGENT_PRIORITY)``.
"""

URGENT_PRIORITY = 50
# One, not none: with adds arriving every second or so all day, "calm" may never come, and
# ordinary work (the rest of each add, syncs, tags) must still move.
BACKGROUND_SLOTS_WHEN_BUSY = 1
CALM_SECONDS = 2.0
