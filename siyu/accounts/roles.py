"""Roles, named permissions and data scopes (F1).

A role grants a set of named permissions and one data scope. The scope decides which rows of
employee-owned data (customers, follow relations, employees) a user sees:
``own`` (their own), ``department`` (their departments' subtree) or ``corp`` (everything).
"""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    ADMIN = "admin", _("Administrator")
    MANAGER = "manager", _("Manager")
    STAFF = "staff", _("Staff")


class DataScope(models.TextChoices):
    OWN = "own", _("Own customers")
    DEPARTMENT = "department", _("Department subtree")
    CORP = "corp", _("Whole enterprise")


PERMISSIONS = {
    "customers.view": _("View customers"),
    "customers.create": _("Create customers"),
    "customers.edit": _("Edit customers"),
    "customers.tag": _("Tag and untag customers"),
    "customers.merge": _("Merge duplicate customers"),
    "customers.export": _("Export customers"),
    "tags.view": _("View tags"),
    "tags.manage": _("Manage tag groups and tags"),
    "groups.view": _("View customer groups"),
    "org.view": _("View employees and departments"),
    "audit.view": _("View the audit log"),
    "jobs.view": _("View background jobs"),
    "users.manage": _("Manage console users and API tokens"),
    "wecom.manage": _("Manage the WeCom integration: callbacks, API calls and syncs"),
    "engagement.manage": _("Manage default welcome messages"),
    "acquisition.view": _("View live codes and their statistics"),
    "acquisition.manage": _("Manage channel, group and store live codes"),
}

ROLE_PERMISSIONS: dict[str, frozenset[str]] = {
    Role.ADMIN: frozenset(PERMISSIONS),
    Role.MANAGER: frozenset(
        {
            "customers.view", "customers.create", "customers.edit", "customers.tag",
            "customers.merge", "customers.export", "tags.view", "org.view", "groups.view",
            "engagement.manage",
            "acquisition.view", "acquisition.manage",
        }
    ),
    Role.STAFF: frozenset(
        {"customers.view", "customers.create", "customers.edit", "customers.tag", "tags.view",
         "org.view", "groups.view", "acquisition.view"}
    ),
}

ROLE_SCOPE = {Role.ADMIN: DataScope.CORP, Role.MANAGER: DataScope.DEPARTMENT,
              Role.STAFF: DataScope.OWN}


def role_has(role: str, permission: str) -> bool:
    if permission not in PERMISSIONS:
        raise KeyError(f"Unknown permission {permission!r}")
    return permission in ROLE_PERMISSIONS.get(role, frozenset())
