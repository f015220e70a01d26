"""Welcome messages: the defaults per employee or department, and every attempt to send one.

A live code's own welcome overrides these defaults (the caller passes it in); see
``selectors.welcome_for`` for the precedence.
"""

from datetime import timedelta

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from siyu.core.tenancy import TenantModel


class WelcomeTemplate(TenantModel):
    """The default welcome of one employee or one department (exactly one of the two)."""

    employee = models.OneToOneField(
        "accounts.Employee", on_delete=models.CASCADE, null=True, blank=True,
        related_name="welcome_template", verbose_name=_("employee"))
    department = models.OneToOneField(
        "accounts.Department", on_delete=models.CASCADE, null=True, blank=True,
        related_name="welcome_template", verbose_name=_("department"))
    text = models.TextField(_("text"), blank=True, default="")
    attachments = models.JSONField(_("attachments"), default=list, blank=True)
    enabled = models.BooleanField(_("enabled"), default=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
        related_name="+", verbose_name=_("updated by"))
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=(Q(employee__isnull=False, department__isnull=True)
                           | Q(employee__isnull=True, department__isnull=False)),
                name="welcome_template_one_scope"),
        ]
        verbose_name = _("welcome template")

    def __str__(self):
        return str(self.employee or self.department)


# A send is claimed, then WeCom answers within seconds (the WelcomeCode is dead after 20 s
# anyway); a row still "sending" after this long belongs to a worker that stopped mid-send.
STALE_SENDING_SECONDS = 60
# Stored (not translated) on rows the sweeper closed; shown through DISPLAY_LABELS.
WORKER_STOPPED_REASON = "unknown: the worker stopped while sending"


class WelcomeDelivery(TenantModel):
    """One add event's welcome: sent, failed or skipped, and why. Unique per event, so a
    duplicate or re-dispatched callback never sends twice."""

    class Status(models.TextChoices):
        # Claimed and being sent; stays so if the worker died mid-call (never re-sent: the
        # WelcomeCode is single-use and short-lived).
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")
        SKIPPED = "skipped", _("Skipped")

    class Source(models.TextChoices):
        LIVE_CODE = "live_code", _("Live code")
        EMPLOYEE = "employee", _("Employee")
        DEPARTMENT = "department", _("Department")
        NONE = "", _("None")

    dedupe_key = models.CharField(_("event key"), max_length=255)
    event_id = models.BigIntegerField(_("WeCom callback id"), null=True, blank=True)
    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.SET_NULL, null=True, blank=True,
        related_name="+", verbose_name=_("customer"))
    employee = models.ForeignKey(
        "accounts.Employee", on_delete=models.SET_NULL, null=True, blank=True,
        related_name="+", verbose_name=_("employee"))
    source = models.CharField(_("source"), max_length=16, choices=Source.choices,
                              blank=True, default="")
    status = models.CharField(_("status"), max_length=16, choices=Status.choices)
    reason = models.CharField(_("reason"), max_length=255, blank=True, default="")
    errcode = models.IntegerField(_("WeCom errcode"), null=True, blank=True)
    event_time = models.DateTimeField(_("event time"), null=True, blank=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    latency_ms = models.PositiveIntegerField(_("latency (ms)"), null=True, blank=True)
    # Which welcome-lane round inserted this row: the lane claims a batch with one insert that
    # skips rows already there, then sends for the rows carrying its token.
    claim_token = models.CharField(max_length=32, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["corp", "dedupe_key"], name="uniq_welcome_delivery")
        ]
        verbose_name = _("welcome delivery")

    def __str__(self):
        return f"{self.dedupe_key}: {self.status}"

    @property
    def display_status(self) -> str:
        """The status an operator should see: "unknown" when the worker stopped mid-send
        (still "sending" past STALE_SENDING_SECONDS, or closed by the sweeper), since nobody
        knows whether WeCom delivered it; it is never re-sent."""
        if self.status == self.Status.SENDING and self.created_at and (
                timezone.now() - self.created_at > timedelta(seconds=STALE_SENDING_SECONDS)):
            return UNKNOWN
        if self.status == self.Status.FAILED and self.reason == WORKER_STOPPED_REASON:
            return UNKNOWN
        return self.status

    @property
    def display_status_label(self) -> str:
        return str(DISPLAY_LABELS.get(self.display_status, self.display_status))

    @property
    def display_reason(self) -> str:
        if self.display_status == UNKNOWN:
            return str(UNKNOWN_EXPLAINED)
        return self.reason


UNKNOWN = "unknown"
UNKNOWN_EXPLAINED = _("It may or may not have reached the customer. A WelcomeCode works only "
                      "once, so it is not sent again.")
DISPLAY_LABELS = {
    **dict(WelcomeDelivery.Status.choices),
    UNKNOWN: _("Unknown — the worker stopped while sending"),
}
