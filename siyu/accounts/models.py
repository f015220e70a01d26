from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from siyu.accounts.roles import ROLE_SCOPE, Role, role_has
from siyu.core.fields import EncryptedTextField
from siyu.core.tenancy import TenantManager, TenantModel, TenantQuerySet


class Corp(models.Model):
    """The tenant: one WeCom enterprise."""

    corp_id = models.CharField(_("CorpID"), max_length=64, unique=True)
    name = models.CharField(_("name"), max_length=100)
    callback_token = EncryptedTextField(_("callback token"), blank=True, default="")
    encoding_aes_key = EncryptedTextField(_("EncodingAESKey"), blank=True, default="")
    contact_secret = EncryptedTextField(_("customer contact secret"), blank=True, default="")
    agent_id = models.CharField(_("AgentID"), max_length=32, blank=True, default="")
    # Where this corp's WeCom API lives: the real service, or the local simulator (demo, tests).
    api_base_url = models.URLField(_("WeCom API base URL"),
                                   default="https://qyapi.weixin.qq.com/cgi-bin/")
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        ordering = ["id"]
        verbose_name = _("enterprise")

    def __str__(self):
        return f"{self.name} ({self.corp_id})"


class Department(TenantModel):
    wecom_id = models.BigIntegerField(_("WeCom department id"))
    name = models.CharField(_("name"), max_length=100)
    parent = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="children",
        verbose_name=_("parent"),
    )
    order = models.BigIntegerField(_("order"), default=0)
    # Materialized path of wecom ids, "/1/3/7/", so a subtree is one indexed prefix query.
    path = models.CharField(max_length=500, db_index=True, default="/")

    class Meta:
        ordering = ["path", "order", "id"]
        constraints = [
            models.UniqueConstraint(fields=["corp", "wecom_id"], name="uniq_department_wecom_id")
        ]
        verbose_name = _("department")

    def __str__(self):
        return self.name

    @property
    def depth(self) -> int:
        return self.path.strip("/").count("/")


class Employee(TenantModel):
    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        RESIGNED = "resigned", _("Resigned")

    userid = models.CharField(_("WeCom userid"), max_length=64)
    name = models.CharField(_("name"), max_length=64)
    mobile = models.CharField(_("mobile"), max_length=32, blank=True, default="")
    email = models.EmailField(_("email"), blank=True, default="")
    position = models.CharField(_("position"), max_length=64, blank=True, default="")
    avatar = models.URLField(_("avatar"), blank=True, default="")
    gender = models.PositiveSmallIntegerField(_("gender"), default=0)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices,
                              default=Status.ACTIVE, db_index=True)
    resigned_at = models.DateTimeField(_("resigned at"), null=True, blank=True)
    departments = models.ManyToManyField(
        Department, through="EmployeeDepartment", related_name="employees",
        verbose_name=_("departments"),
    )
    main_department = models.ForeignKey(
        Department, on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
        verbose_name=_("main department"),
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["corp", "userid"], name="uniq_employee_userid")
        ]
        verbose_name = _("employee")

    def __str__(self):
        return self.name

    @property
    def is_active(self) -> bool:
        return self.status == self.Status.ACTIVE


class EmployeeDepartment(TenantModel):
    employee = models.ForeignKey(Employee, on_delete=models.CASCADE)
    department = models.ForeignKey(Department, on_delete=models.CASCADE)
    is_leader = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["employee", "department"], name="uniq_employee_dept")
        ]


class UserQuerySet(TenantQuerySet):
    pass


class CorpUserManager(TenantManager.from_queryset(UserQuerySet), UserManager):
    def get_by_natural_key(self, username):
        # Login looks a user up before any corp is known.
        return self.get_queryset().unscoped().get(**{self.model.USERNAME_FIELD: username})


class User(AbstractUser):
    """A console / API user of one enterprise, optionally linked to its WeCom employee."""

    corp = models.ForeignKey(
        Corp, on_delete=models.CASCADE, null=True, blank=True, related_name="users",
        verbose_name=_("enterprise"),
    )
    role = models.CharField(_("role"), max_length=16, choices=Role.choices, default=Role.STAFF)
    employee = models.OneToOneField(
        Employee, on_delete=models.SET_NULL, null=True, blank=True, related_name="user",
        verbose_name=_("employee"),
    )

    objects = CorpUserManager()

    class Meta:
        verbose_name = _("user")

    def has_siyu_perm(self, permission: str) -> bool:
        return bool(self.is_active and self.corp_id and role_has(self.role, permission))

    @property
    def data_scope(self) -> str:
        return ROLE_SCOPE[self.role]


class ApiToken(TenantModel):
    """Bearer token for the REST API. Only a SHA-256 of the token is stored."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(_("name"), max_length=64, blank=True, default="")
    prefix = models.CharField(max_length=12)
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self):
        return f"{self.prefix}… ({self.user.username})"

    @property
    def is_valid(self) -> bool:
        return self.revoked_at is None


class LoginAttempt(models.Model):
    """Every password login attempt; recent failures lock the username."""

    username = models.CharField(max_length=150, db_index=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    succeeded = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.username} {'ok' if self.succeeded else 'failed'} {self.created_at}"
