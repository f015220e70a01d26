"""Channel live codes (B2): a WeCom contact way with a ``state`` that identifies the code,
the employees (or departments) behind it, their duty hours, and the counters that drive
round-robin rotation and daily caps."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from siyu.core.tenancy import TenantModel

STATE_MAX = 30  # WeCom's limit for a contact way's state


class LiveCode(TenantModel):
    class Mode(models.TextChoices):
        RANDOM = "random", _("Random")
        ROUND_ROBIN = "round_robin", _("Round robin")
        TIME_SLOT = "time_slot", _("By time slot")

    class Status(models.TextChoices):
        ACTIVE = "active", pgettext_lazy("code status", "Active")
        DISABLED = "disabled", pgettext_lazy("code status", "Disabled")

    name = models.CharField(_("name"), max_length=64)
    state = models.CharField(_("state"), max_length=STATE_MAX)
    mode = models.CharField(_("assignment mode"), max_length=16, choices=Mode.choices,
                            default=Mode.RANDOM)
    skip_verify = models.BooleanField(_("add without verification"), default=True)
    tags = models.ManyToManyField("tags.Tag", blank=True, related_name="+",
                                  verbose_name=_("tags to apply"))
    welcome_text = models.TextField(_("welcome text"), blank=True, default="")
    welcome_attachments = models.JSONField(_("welcome attachments"), default=list, blank=True)
    expires_at = models.DateTimeField(_("expires at"), null=True, blank=True)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices,
                              default=Status.ACTIVE, db_index=True)
    # Filled once WeCom accepted the contact way.
    wecom_config_id = models.CharField(max_length=64, blank=True, default="", db_index=True)
    qr_code = models.URLField(_("QR code"), max_length=500, blank=True, default="")
    # Time-slot codes: when a duty slot next starts or ends, so the contact way is re-pointed
    # at whoever is on duty then (a periodic hook picks up codes that are due).
    next_refresh_at = models.DateTimeField(null=True, blank=True, db_index=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL,
                                   null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["corp", "state"], name="uniq_live_code_state"),
        ]
        verbose_name = _("channel live code")

    def __str__(self):
        return self.name


class LiveCodeMember(TenantModel):
    """One employee, or one department (expanded to its active employees when assigning)."""

    live_code = models.ForeignKey(LiveCode, on_delete=models.CASCADE, related_name="members")
    employee = models.ForeignKey("accounts.Employee", on_delete=models.CASCADE, null=True,
                                 blank=True, related_name="+", verbose_name=_("employee"))
    department = models.ForeignKey("accounts.Department", on_delete=models.CASCADE, null=True,
                                   blank=True, related_name="+", verbose_name=_("department"))
    # None: no cap.
    daily_cap = models.PositiveIntegerField(_("daily cap"), null=True, blank=True)
    is_backup = models.BooleanField(_("backup"), default=False)
    order = models.IntegerField(_("order"), default=0)

    class Meta:
        ordering = ["order", "id"]
        constraints = [
            models.CheckConstraint(
                condition=(models.Q(employee__isnull=False, department__isnull=True)
                           | models.Q(employee__isnull=True, department__isnull=False)),
                name="live_code_member_employee_xor_department",
            ),
        ]


class LiveCodeTimeSlot(TenantModel):
    """When a member is on duty (mode "time_slot"). ``end <= start`` means the slot crosses
    midnight into the next day, so Fri 22:00–02:00 covers Saturday 01:00."""

    member = models.ForeignKey(LiveCodeMember, on_delete=models.CASCADE,
                               related_name="time_slots")
    # Python weekdays, Monday = 0, in China time.
    weekdays = models.JSONField(_("weekdays"), default=list)
    start_time = models.TimeField(_("start"))
    end_time = models.TimeField(_("end"))

    class Meta:
        ordering = ["id"]


class LiveCodeRotation(TenantModel):
    """Round-robin position: bumped with a conditional UPDATE so processes never skip or
    repeat a turn."""

    live_code = models.OneToOneField(LiveCode, on_delete=models.CASCADE,
                                     related_name="rotation")
    position = models.PositiveBigIntegerField(default=0)
    # Set when a refresh job is queued and cleared when it starts, so a burst of adds queues
    # one refresh at a time instead of one per add.
    refresh_queued = models.BooleanField(default=False)


class LiveCodeDailyCount(TenantModel):
    """Customers assigned to one employee through one code on one China (Asia/Shanghai) day."""

    live_code = models.ForeignKey(LiveCode, on_delete=models.CASCADE,
                                  related_name="daily_counts")
    employee = models.ForeignKey("accounts.Employee", on_delete=models.CASCADE,
                                 related_name="+")
    day = models.DateField()
    count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["live_code", "employee", "day"],
                                    name="uniq_live_code_daily_count"),
        ]


class LiveCodeAdd(TenantModel):
    """One customer adding an employee through a code (an add_external_contact callback whose
    State is the code's): the attribution that per-code statistics count. One row per callback
    (``event_key`` is the WeCom event's dedupe key), so a duplicate delivery counts once."""

    live_code = models.ForeignKey(LiveCode, on_delete=models.CASCADE, related_name="adds")
    customer = models.ForeignKey("customers.Customer", on_delete=models.CASCADE,
                                 related_name="live_code_adds")
    employee = models.ForeignKey("accounts.Employee", on_delete=models.SET_NULL, null=True,
                                 blank=True, related_name="+")
    event_key = models.CharField(max_length=128)
    added_at = models.DateTimeField(db_index=True)
    # True when this add created the customer in Siyu (a new customer, not a re-add).
    new_customer = models.BooleanField(default=False)
    # The code had expired or was disabled when the customer scanned it: still attributed
    # (WeCom delivered the customer) but shown apart to the operator.
    code_inactive = models.BooleanField(default=False)

    class Meta:
        ordering = ["-added_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["corp", "event_key"], name="uniq_live_code_add"),
        ]
        indexes = [models.Index(fields=["live_code", "added_at"])]
