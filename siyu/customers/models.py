from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from siyu.core.tenancy import TenantModel


class Customer(TenantModel):
    class Type(models.IntegerChoices):
        UNKNOWN = 0, _("Unknown")
        WECHAT = 1, _("WeChat user")
        WECOM = 2, _("WeCom user")

    class Gender(models.IntegerChoices):
        UNKNOWN = 0, _("Unknown")
        MALE = 1, _("Male")
        FEMALE = 2, _("Female")

    # NULL (not "") for customers without WeCom identity, so the partial unique index ignores them.
    external_userid = models.CharField(  # noqa: DJ001
        _("external userid"), max_length=64, null=True, blank=True)
    unionid = models.CharField(_("unionid"), max_length=64, blank=True, default="", db_index=True)
    name = models.CharField(_("name"), max_length=64)
    avatar = models.URLField(_("avatar"), max_length=500, blank=True, default="")
    type = models.PositiveSmallIntegerField(_("type"), choices=Type.choices, default=Type.WECHAT)
    gender = models.PositiveSmallIntegerField(_("gender"), choices=Gender.choices,
                                              default=Gender.UNKNOWN)
    phones = models.JSONField(_("phones"), default=list, blank=True)
    email = models.EmailField(_("email"), blank=True, default="")
    birthday = models.DateField(_("birthday"), null=True, blank=True)
    region = models.CharField(_("region"), max_length=100, blank=True, default="")
    company = models.CharField(_("company"), max_length=100, blank=True, default="")
    custom_fields = models.JSONField(_("custom fields"), default=dict, blank=True)
    merged_into = models.ForeignKey("self", on_delete=models.SET_NULL, null=True, blank=True,
                                    related_name="merged_from", verbose_name=_("merged into"))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["corp", "external_userid"], condition=Q(external_userid__isnull=False),
                name="uniq_customer_external_userid",
            )
        ]
        indexes = [models.Index(fields=["corp", "name"])]
        verbose_name = _("customer")

    def __str__(self):
        return self.name

    @classmethod
    def scope_q(cls, employee_ids):
        owned = FollowRelation.objects.unscoped().filter(
            employee_id__in=employee_ids, deleted_at__isnull=True
        )
        return Q(id__in=owned.values("customer_id"))


class FollowRelation(TenantModel):
    """One employee ↔ customer relationship (WeCom's follow_user entry)."""

    class DeletedBy(models.TextChoices):
        CUSTOMER = "customer", _("Customer deleted the employee")
        EMPLOYEE = "employee", _("Employee deleted the customer")

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="follows")
    employee = models.ForeignKey("accounts.Employee", on_delete=models.CASCADE,
                                 related_name="follows", verbose_name=_("employee"))
    remark = models.CharField(_("remark"), max_length=64, blank=True, default="")
    description = models.CharField(_("description"), max_length=255, blank=True, default="")
    remark_mobiles = models.JSONField(_("remark mobiles"), default=list, blank=True)
    add_way = models.IntegerField(_("add way"), default=0)
    state = models.CharField(_("channel state"), max_length=30, blank=True, default="",
                             db_index=True)
    added_at = models.DateTimeField(_("added at"), db_index=True)
    deleted_at = models.DateTimeField(_("deleted at"), null=True, blank=True)
    deleted_by = models.CharField(_("deleted by"), max_length=16, choices=DeletedBy.choices,
                                  blank=True, default="")
    # WeCom CreateTime (epoch seconds) of the last add/delete applied: callbacks arrive late,
    # twice or out of order, and an older one must not undo a newer one.
    wecom_event_time = models.BigIntegerField(null=True, blank=True)
    # CreateTime of the latest add event seen, which owns added_at and the channel state even
    # when a later delete has already ended the relationship here.
    wecom_added_time = models.BigIntegerField(null=True, blank=True)
    # Corp tag ids WeCom last reported on this relationship, so a tag removed in WeCom is
    # unlinked here while tags added in Siyu are left alone.
    wecom_tag_ids = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-added_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["customer", "employee"], name="uniq_follow")
        ]
        indexes = [models.Index(fields=["employee", "deleted_at"])]
        verbose_name = _("follow relation")

    def __str__(self):
        return f"{self.employee_id} ↔ {self.customer_id}"

    @property
    def is_active(self) -> bool:
        return self.deleted_at is None

    @classmethod
    def scope_q(cls, employee_ids):
        return Q(employee_id__in=employee_ids)


class CustomerTag(TenantModel):
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="tag_links")
    tag = models.ForeignKey("tags.Tag", on_delete=models.CASCADE, related_name="customer_links")
    added_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True,
                                 blank=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["customer", "tag"], name="uniq_customer_tag")
        ]


class TimelineEvent(TenantModel):
    class Kind(models.TextChoices):
        CREATED = "created", _("Customer created")
        UPDATED = "updated", _("Profile updated")
        TAGGED = "tagged", _("Tag added")
        UNTAGGED = "untagged", _("Tag removed")
        MERGED = "merged", _("Duplicate merged")
        FOLLOW_ADDED = "follow_added", _("Added an employee")
        FOLLOW_DELETED = "follow_deleted", _("Relationship ended")
        FOLLOW_EDITED = "follow_edited", _("Remark or tags edited")
        TRANSFER_FAILED = "transfer_failed", _("Transfer failed")
        GROUP_JOINED = "group_joined", _("Joined a group")
        GROUP_QUIT = "group_quit", _("Left a group")
        NOTE = "note", _("Note")

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="timeline")
    kind = models.CharField(_("kind"), max_length=32, choices=Kind.choices)
    occurred_at = models.DateTimeField(_("time"), db_index=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True,
                              blank=True, related_name="+")
    employee = models.ForeignKey("accounts.Employee", on_delete=models.SET_NULL, null=True,
                                 blank=True, related_name="+")
    summary = models.CharField(_("summary"), max_length=255)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-occurred_at", "-id"]
        verbose_name = _("timeline event")

    def __str__(self):
        return self.summary

    @property
    def display_summary(self) -> str:
        from siyu.customers.timeline import describe

        return describe(self)
