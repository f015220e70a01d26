"""Leases: one process at a time does a named job, across processes and machines.

``lease_hold(name, holder, seconds)`` takes the lease when it is free or expired, or renews it
when ``holder`` has it already, with one conditional UPDATE (an INSERT the first time). A holder
that dies loses the lease when it expires; whoever asks next takes it over.
"""

import os
import socket
import threading
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from siyu.core.models import Lease


def this_holder() -> str:
    """Names the calling thread of this process on this machine."""
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"[:128]


def lease_hold(name: str, holder: str, seconds: float) -> bool:
    now = timezone.now()
    until = now + timedelta(seconds=seconds)
    taken = Lease.objects.filter(Q(holder=holder) | Q(expires_at__lte=now), name=name).update(
        holder=holder, expires_at=until)
    if taken:
        return True
    try:
        with transaction.atomic():
            Lease.objects.create(name=name, holder=holder, expires_at=until)
    except IntegrityError:
        return False  # someone else holds it
    return True


def lease_release(name: str, holder: str) -> None:
    Lease.objects.filter(name=name, holder=holder).update(holder="", expires_at=timezone.now())
