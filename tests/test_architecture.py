"""Architecture rules from docs/architecture.md that are checked mechanically.

- The import-linter contracts in pyproject.toml hold (app internals stay private, core is the
  base, only siyu.wecom talks HTTP).
- Every model with a ``corp`` foreign key is tenant-owned: it inherits ``TenantModel`` and its
  default manager refuses unscoped queries.
"""

import shutil
import subprocess
import sys
from pathlib import Path

from django.apps import apps

from siyu.accounts.models import Corp
from siyu.core.tenancy import TenantModel, TenantQuerySet

PROJECT_ROOT = Path(__file__).resolve().parent.parent

# These carry a corp foreign key but declare it themselves: User extends Django's AbstractUser,
# and AuditLog rows may belong to no corp (system events). Both still use a TenantQuerySet.
DECLARE_CORP_THEMSELVES = {"accounts.User", "core.AuditLog"}


def lint_imports_command() -> str:
    beside_python = Path(sys.executable).with_name("lint-imports")
    if beside_python.exists():
        return str(beside_python)
    found = shutil.which("lint-imports")
    assert found, "lint-imports is not installed: pip install -e '.[test]'"
    return found


def test_import_linter_contracts_hold():
    result = subprocess.run(
        [lint_imports_command(), "--no-cache"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, f"lint-imports failed:\n{result.stdout}\n{result.stderr}"


def models_with_corp_foreign_key():
    for model in apps.get_models():
        field = next((f for f in model._meta.concrete_fields if f.name == "corp"), None)
        if field is not None and field.many_to_one and field.related_model is Corp:
            yield model


def test_every_model_with_a_corp_is_tenant_owned():
    tenant_owned = list(models_with_corp_foreign_key())
    labels = {model._meta.label for model in tenant_owned}
    # Guards against this test passing vacuously (e.g. the field lookup silently finding nothing).
    assert {"customers.Customer", "tags.Tag"} <= labels
    assert labels >= DECLARE_CORP_THEMSELVES, "the exemption list names a model without a corp FK"

    not_inheriting = sorted(
        model._meta.label
        for model in tenant_owned
        if not issubclass(model, TenantModel) and model._meta.label not in DECLARE_CORP_THEMSELVES
    )
    assert not not_inheriting, (
        f"models with a corp FK must inherit siyu.core.tenancy.TenantModel: {not_inheriting}"
    )


def test_tenant_owned_models_refuse_unscoped_queries():
    unguarded = sorted(
        model._meta.label
        for model in models_with_corp_foreign_key()
        if not isinstance(model._default_manager.all(), TenantQuerySet)
    )
    assert not unguarded, (
        "the default manager of these corp-owned models does not return a TenantQuerySet, so "
        f"unscoped queries would go through: {unguarded}"
    )
