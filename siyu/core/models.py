from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from siyu.core.tenancy import TenantManager, TenantModel, TenantQuerySet

__all__ = ["AuditLog", "Lease", "TenantManager", "TenantModel", "TenantQuerySet",
           "WorkerHeartbeat"]


class AuditLog(TenantModel):
    """Who did what, when, to which object, with old → new values per field."""

    corp = models.ForeignKey(
        "accounts.Corp", on_delete=models.CASCADE, related_name="+", null=True, blank=True
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
        related_name="+",
    )
    actor_label = models.CharField(_("actor"), max_length=150, blank=True)
    action = models.CharField(_("action"), max_length=64, db_index=True)
    object_type = models.CharField(_("object type"), max_length=64, blank=True)
    object_id = models.CharField(_("object id"), max_length=64, blank=True, db_index=True)
    object_repr = models.CharField(_("object"), max_length=200, blank=True)
    changes = models.JSONField(_("changes"), default=dict, blank=True)
    ip_address = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    created_at = models.DateTimeField(_("time"), auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("audit log entry")

    def __str__(self):
        when = f"{self.created_at:%Y-%m-%d %H:%M}"
        return f"{when} {self.actor_label} {self.action} {self.object_repr}"


class WorkerHeartbeat(models.Model):
    """Liveness of job workers, so a task held by a dead worker can be re-driven."""

    worker_id = models.CharField(max_length=64, unique=True)
    hostname = models.CharField(max_length=255)
    pid = models.IntegerField()
    queues = models.CharField(max_length=200, blank=True, default="")
    started_at = models.DateTimeField(auto_now_add=True)
    last_seen = models.DateTimeField(db_index=True)

    def __str__(self):
        return f"{self.worker_id}@{self.hostname}:{self.pid}"


class Lease(models.Model):
    """A named job that one process at a time may do, for as long as it keeps renewing the
    lease (see siyu.core.leases): e.g. feeding stored callbacks to the dispatch queue in order."""

    name = models.CharField(max_length=64, primary_key=True)
    holder = models.CharField(max_length=128, blank=True, default="")
    expires_at = models.DateTimeField()

    def __str__(self):
        return f"{self.name} held by {self.holder or 'nobody'} until {self.expires_at}"
