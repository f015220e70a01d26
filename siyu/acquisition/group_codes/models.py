"""Group live codes (B3): one WeCom join way over an ordered list of customer groups. When the
group in front reaches the member limit the code moves on to the next one; with
``auto_create_room`` WeCom creates a new group once every listed group is full."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from siyu.acquisition.live_codes.models import STATE_MAX
from siyu.core.tenancy import TenantModel


class GroupCode(TenantModel):
    class Status(models.TextChoices):
        ACTIVE = "active", pgettext_lazy("code status", "Active")
        DISABLED = "disabled", pgettext_lazy("code status", "Disabled")

    name = models.CharField(_("name"), max_length=64)
    state = models.CharField(_("state"), max_length=STATE_MAX)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices,
                              default=Status.ACTIVE, db_index=True)
    # Members per group before the code moves on; defaults to SIYU_GROUP_CODE_MEMBER_LIMIT.
    member_limit = models.PositiveIntegerField(_("member limit per group"), default=200)
    auto_create_room = models.BooleanField(_("create the next group automatically"),
                                           default=False)
    room_base_name = models.CharField(_("name of created groups"), max_length=40, blank=True,
                                      default="")
    room_base_id = models.PositiveIntegerField(_("first number of created groups"), null=True,
                                               blank=True)
    welcome_text = models.TextField(_("group welcome text"), blank=True, default="")
    # At most one attachment, as WeCom's group welcome template allows:
    # {"msgtype": "image"|"link"|"miniprogram"|"file"|"video", ...}.
    welcome_attachment = models.JSONField(_("group welcome attachment"), null=True, blank=True)
    expires_at = models.DateTimeField(_("expires at"), null=True, blank=True)
    # Filled once WeCom accepted them.
    wecom_config_id = models.CharField(max_length=64, blank=True, default="", db_index=True)
    wecom_template_id = models.CharField(max_length=64, blank=True, default="")
    qr_code = models.URLField(_("QR code"), max_length=500, blank=True, default="")
    # The chat ids the join way lists now (the next groups below the limit), so a membership
    # change pushes to WeCom only when the list really changes.
    wecom_chat_ids = models.JSONField(default=list, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL,
                                   null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["corp", "state"], name="uniq_group_code_state"),
        ]
        verbose_name = _("group live code")

    def __str__(self):
        return self.name


class GroupCodeGroup(TenantModel):
    """One group of a code, in the order the code fills them."""

    group_code = models.ForeignKey(GroupCode, on_delete=models.CASCADE, related_name="entries")
    group = models.ForeignKey("groups.CustomerGroup", on_delete=models.CASCADE,
                              related_name="+",
                              verbose_name=pgettext_lazy("customer group", "group"))
    order = models.IntegerField(_("order"), default=0)

    class Meta:
        ordering = ["order", "id"]
        constraints = [
            models.UniqueConstraint(fields=["group_code", "group"],
                                    name="uniq_group_code_group"),
        ]
