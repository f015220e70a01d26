"""WeCom integration state: stored callbacks, API call log, token cache, rate windows, syncs."""

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from siyu.core.tenancy import TenantModel


class WeComEvent(TenantModel):
    """One callback from WeCom, stored before it is acknowledged; the source of truth for
    dispatch, so a crash between store and dispatch loses nothing. The row is its own queue
    entry: the feeder (siyu.wecom.feeder) hands stored events to the workers in order per
    ``ordering_key``, and the sweeper returns those a lost job or a dead worker left behind."""

    class Status(models.TextChoices):
        STORED = "stored", _("Stored")
        QUEUED = "queued", _("Queued")
        DISPATCHING = "dispatching", _("Dispatching")
        DISPATCHED = "dispatched", _("Dispatched")
        IGNORED = "ignored", _("Ignored")
        FAILED = "failed", _("Failed")

    dedupe_key = models.CharField(max_length=255)
    event = models.CharField(_("event"), max_length=64, blank=True, default="")
    change_type = models.CharField(_("change type"), max_length=64, blank=True, default="")
    create_time = models.BigIntegerField(_("WeCom CreateTime"), default=0)
    raw_xml = models.TextField(_("decrypted XML"))
    payload = models.JSONField(_("parsed fields"), default=dict)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices,
                              default=Status.STORED)
    attempts = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True, default="")
    received_at = models.DateTimeField(_("received at"), auto_now_add=True, db_index=True)
    dispatched_at = models.DateTimeField(_("dispatched at"), null=True, blank=True)
    # Dispatch claim (a worker that dies mid-dispatch loses it after the lease) and when the
    # sweeper may re-drive a failed event (null: failed for good, or not failed).
    claimed_at = models.DateTimeField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(_("next attempt at"), null=True, blank=True)
    # An add with a WelcomeCode that no welcome lane has taken yet (siyu.wecom.welcome_feed).
    welcome_due = models.BooleanField(default=False)
    # Events of one key (a customer's external_userid, a group's chat id, the corp's tags) are
    # dispatched one at a time, in order, so no two workers apply one customer at once.
    ordering_key = models.CharField(max_length=128, blank=True, default="")
    # The callback's nonce, timestamp and signature: a nonce used again within one timestamp
    # with another message is a replay (siyu.wecom.ingress.services).
    nonce = models.CharField(max_length=64, blank=True, default="")
    nonce_timestamp = models.BigIntegerField(default=0)
    msg_signature = models.CharField(max_length=40, blank=True, default="")

    class Meta:
        ordering = ["-received_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["corp", "dedupe_key"], name="uniq_wecom_event"),
            models.UniqueConstraint(fields=["corp", "nonce", "nonce_timestamp"],
                                    condition=~models.Q(nonce=""), name="uniq_wecom_nonce"),
        ]
        indexes = [
            models.Index(fields=["status", "received_at"]),
            # Only the few adds awaiting their welcome: the lane polls it several times a second.
            models.Index(fields=["create_time"], condition=models.Q(welcome_due=True),
                         name="wecom_event_welcome_due"),
            # The feeder's two questions, each over the few rows still in play.
            models.Index(fields=["id"], condition=models.Q(status__in=["stored", "failed"]),
                         name="wecom_event_to_feed"),
            models.Index(fields=["corp", "ordering_key"],
                         condition=models.Q(status__in=["queued", "dispatching"]),
                         name="wecom_event_in_flight"),
        ]
        verbose_name = _("WeCom callback")

    def __str__(self):
        return f"{self.event}/{self.change_type} {self.dedupe_key}"


class AccessToken(TenantModel):
    """access_token cache shared by every process; refreshed before expiry."""

    secret_kind = models.CharField(max_length=32, default="contact")
    token = models.TextField()
    expires_at = models.DateTimeField()
    refreshed_at = models.DateTimeField(auto_now=True)
    # Set by the one process that is fetching a new token (see siyu.wecom.tokens); others wait
    # for it instead of all calling gettoken at once.
    refresh_claimed_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["corp", "secret_kind"], name="uniq_access_token")
        ]

    def __str__(self):
        return f"{self.secret_kind} token until {self.expires_at}"


class ApiCall(TenantModel):
    """Every outbound WeCom call: which API, the errcode, latency — for admins to debug."""

    api = models.CharField(_("API"), max_length=128, db_index=True)
    errcode = models.IntegerField(_("errcode"), null=True, blank=True)
    errmsg = models.CharField(_("errmsg"), max_length=255, blank=True, default="")
    http_status = models.PositiveSmallIntegerField(null=True, blank=True)
    latency_ms = models.PositiveIntegerField(_("latency (ms)"), default=0)
    attempt = models.PositiveSmallIntegerField(default=1)
    # When the call was made (rows are written in batches, a moment later).
    created_at = models.DateTimeField(_("time"), default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["corp", "created_at"], name="wecom_apicall_corp_time")]
        verbose_name = _("WeCom API call")

    def __str__(self):
        return f"{self.api} → {self.errcode}"


class RateWindow(TenantModel):
    """Calls reserved per corp, API and window, shared across processes (WeCom limits are
    per corp per API per minute and per hour)."""

    api = models.CharField(max_length=128)
    window = models.CharField(max_length=8)  # "minute" or "hour"
    window_start = models.DateTimeField()
    used = models.PositiveIntegerField(default=0)
    blocked_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["corp", "api", "window", "window_start"],
                                    name="uniq_rate_window")
        ]

    def __str__(self):
        return f"{self.api} {self.window} {self.window_start}: {self.used}"


class SyncRun(TenantModel):
    """A full or incremental sync with WeCom; progress and cursors live here so a crashed
    sync resumes where it stopped."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        SUCCEEDED = "succeeded", _("Succeeded")
        FAILED = "failed", _("Failed")

    full = models.BooleanField(_("full"), default=False)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices,
                              default=Status.QUEUED)
    stage = models.CharField(_("stage"), max_length=32, blank=True, default="")
    progress = models.JSONField(_("progress"), default=dict, blank=True)
    state = models.JSONField(default=dict, blank=True)  # cursors and done-markers for resume
    changes = models.JSONField(_("changes"), default=dict, blank=True)
    error = models.TextField(blank=True, default="")
    triggered_by = models.CharField(max_length=150, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("WeCom sync")

    def __str__(self):
        return f"sync #{self.pk} {self.status}"
