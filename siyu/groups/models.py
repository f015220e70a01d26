from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from siyu.core.tenancy import TenantModel


class CustomerGroup(TenantModel):
    """A WeCom customer group (客户群)."""

    class Status(models.TextChoices):
        ACTIVE = "active", pgettext_lazy("group status", "Active")
        DISMISSED = "dismissed", _("Dismissed")

    chat_id = models.CharField(_("chat id"), max_length=64)
    name = models.CharField(_("name"), max_length=100, blank=True, default="")
    owner = models.ForeignKey("accounts.Employee", on_delete=models.SET_NULL, null=True,
                              blank=True, related_name="owned_groups", verbose_name=_("owner"))
    owner_userid = models.CharField(max_length=64, blank=True, default="")
    notice = models.TextField(_("notice"), blank=True, default="")
    status = models.CharField(_("status"), max_length=16, choices=Status.choices,
                              default=Status.ACTIVE)
    created_in_wecom_at = models.DateTimeField(null=True, blank=True)
    dismissed_at = models.DateTimeField(null=True, blank=True)
    member_count = models.PositiveIntegerField(_("members"), default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(fields=["corp", "chat_id"], name="uniq_group_chat_id")
        ]
        verbose_name = _("customer group")

    def __str__(self):
        return self.name or self.chat_id

    @classmethod
    def scope_q(cls, employee_ids):
        return models.Q(owner_id__in=employee_ids)


class GroupMember(TenantModel):
    class Type(models.IntegerChoices):
        EMPLOYEE = 1, _("Employee")
        EXTERNAL = 2, _("External contact")

    group = models.ForeignKey(CustomerGroup, on_delete=models.CASCADE, related_name="members")
    member_type = models.PositiveSmallIntegerField(choices=Type.choices)
    userid = models.CharField(max_length=64)  # userid or external_userid
    customer = models.ForeignKey("customers.Customer", on_delete=models.SET_NULL, null=True,
                                 blank=True, related_name="group_memberships")
    name = models.CharField(max_length=100, blank=True, default="")
    join_time = models.DateTimeField(null=True, blank=True)
    join_scene = models.PositiveSmallIntegerField(default=0)
    invitor_userid = models.CharField(max_length=64, blank=True, default="")
    state = models.CharField(max_length=30, blank=True, default="")
    quit_at = models.DateTimeField(null=True, blank=True)
    quit_scene = models.PositiveSmallIntegerField(null=True, blank=True)
    # WeCom CreateTime (epoch seconds) of the last join/quit applied, so late or repeated
    # callbacks cannot undo a newer change.
    wecom_event_time = models.BigIntegerField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["group", "userid"], name="uniq_group_member")
        ]
        verbose_name = _("group member")

    def __str__(self):
        return self.name or self.userid


class GroupMemberEvent(TenantModel):
    """One join or quit, kept as history (the member row only holds the latest state)."""

    class Kind(models.TextChoices):
        JOINED = "joined", _("Joined")
        QUIT = "quit", _("Left")

    group = models.ForeignKey(CustomerGroup, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices)
    userid = models.CharField(max_length=64)
    member_type = models.PositiveSmallIntegerField(choices=GroupMember.Type.choices)
    name = models.CharField(max_length=100, blank=True, default="")
    customer = models.ForeignKey("customers.Customer", on_delete=models.SET_NULL, null=True,
                                 blank=True, related_name="group_events")
    scene = models.PositiveSmallIntegerField(null=True, blank=True)
    occurred_at = models.DateTimeField(_("time"), db_index=True)

    class Meta:
        ordering = ["-occurred_at", "-id"]
        constraints = [
            # The same callback applied twice records one entry.
            models.UniqueConstraint(fields=["group", "userid", "kind", "occurred_at"],
                                    name="uniq_group_member_event")
        ]
        verbose_name = _("group join or quit")

    def __str__(self):
        return f"{self.userid} {self.kind} {self.occurred_at}"
