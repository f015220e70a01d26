import os
import subprocess
import sys
from datetime import timedelta

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import RequestFactory
from django.utils import timezone, translation

from siyu.accounts.auth import user_for_token
from siyu.accounts.models import ApiToken, Corp, User
from siyu.accounts.scoping import visible_employee_ids
from siyu.accounts.services import api_token_create, corp_create, session_login, user_create
from siyu.core.errors import Conflict, PermissionDenied, ValidationFailed
from siyu.core.models import AuditLog


def login_request():
    from django.contrib.sessions.backends.db import SessionStore

    request = RequestFactory().post("/login/", REMOTE_ADDR="10.1.2.3")
    request.session = SessionStore()
    return request


def test_corp_secrets_are_encrypted_at_rest(db):
    corp = corp_create(corp_id="wwsecret", name="加密测试", token="tok-123",
                       aes_key="kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR",
                       secret="very-secret-value")
    with connection.cursor() as cursor:
        cursor.execute("SELECT callback_token, encoding_aes_key, contact_secret "
                       "FROM accounts_corp WHERE id = %s", [corp.pk])
        raw = cursor.fetchone()
    assert "tok-123" not in raw[0] and "very-secret" not in raw[2] and "kWxPEV" not in raw[1]
    reloaded = Corp.objects.get(pk=corp.pk)
    assert reloaded.contact_secret == "very-secret-value"
    assert reloaded.callback_token == "tok-123"


def test_corp_create_validates(db):
    with pytest.raises(ValidationFailed) as exc:
        corp_create(corp_id="bad id!", name="", aes_key="short")
    assert set(exc.value.field_errors) == {"corp_id", "name", "aes_key"}
    corp_create(corp_id="wwone", name="一号")
    with pytest.raises(Conflict):
        corp_create(corp_id="wwone", name="again")
    assert Corp.objects.count() == 1


def test_login_success_is_audited(world):
    user = session_login(request=login_request(), username="x_admin", password="correct-horse-1")
    assert user == world.admin
    entry = AuditLog.objects.for_corp(world.corp).get(action="login")
    assert entry.ip_address == "10.1.2.3" and entry.actor == world.admin


def test_repeated_failures_lock_the_account(world, settings):
    settings.SIYU_LOGIN_MAX_FAILURES = 3
    for _ in range(3):
        with pytest.raises(ValidationFailed):
            session_login(request=login_request(), username="x_admin", password="wrong")
    with pytest.raises(PermissionDenied) as exc, translation.override("en"):
        session_login(request=login_request(), username="x_admin", password="correct-horse-1")
    assert "Try again" in exc.value.message
    assert AuditLog.objects.for_corp(world.corp).filter(action="login.failed").count() == 3


def test_lock_expires(world, settings):
    settings.SIYU_LOGIN_MAX_FAILURES = 2
    settings.SIYU_LOGIN_LOCK_SECONDS = 60
    for _ in range(2):
        with pytest.raises(ValidationFailed):
            session_login(request=login_request(), username="x_admin", password="wrong")
    with pytest.raises(PermissionDenied):
        session_login(request=login_request(), username="x_admin", password="correct-horse-1")
    with time_machine.travel(timezone.now() + timedelta(seconds=61)):
        assert session_login(request=login_request(), username="x_admin",
                             password="correct-horse-1") == world.admin


def test_token_is_stored_hashed_and_authenticates(world):
    raw = api_token_create(corp=world.corp, username="x_staff_a")
    token = ApiToken.objects.for_corp(world.corp).get()
    assert raw not in (token.token_hash, token.prefix + token.token_hash)
    assert user_for_token(raw) == world.staff_a
    assert user_for_token(raw + "x") is None
    assert user_for_token("not-a-token") is None
    world.staff_a.is_active = False
    world.staff_a.save()
    assert user_for_token(raw) is None


def test_user_create_validates_and_links_employee(world):
    with pytest.raises(ValidationFailed) as exc:
        user_create(corp=world.corp, username="a b", password="123", role="boss",
                    employee_userid="nobody")
    assert set(exc.value.field_errors) == {"username", "password", "role", "employee"}
    # x_b is already linked to staff_b.
    with pytest.raises(ValidationFailed) as exc:
        user_create(corp=world.corp, username="new_staff", password="long-enough-pw",
                    role="staff", employee_userid="x_b")
    assert "employee" in exc.value.field_errors
    with pytest.raises(Conflict):
        user_create(corp=world.corp, username="x_admin", password="long-enough-pw", role="staff")
    user = user_create(corp=world.corp, username="new_staff", password="long-enough-pw",
                       role="staff")
    assert user.check_password("long-enough-pw") and user.corp == world.corp


def test_visible_employee_ids_follow_the_department_tree(world):
    emps = world.employees
    assert visible_employee_ids(world.admin) is None
    assert visible_employee_ids(world.staff_a) == [emps["a"].pk]
    assert sorted(visible_employee_ids(world.manager)) == sorted([emps["manager"].pk,
                                                                  emps["a"].pk])
    unlinked = User.objects.create_user(username="lonely", password="x" * 10,
                                        corp=world.corp, role="staff")
    assert visible_employee_ids(unlinked) == []


def test_cli_corp_user_token(db, capsys):
    call_command("corp", "add", "--corp-id", "wwcli", "--name", "命令行企业")
    call_command("corp", "list")
    assert "wwcli\t命令行企业" in capsys.readouterr().out
    with pytest.raises(CommandError, match="aes_key"):
        call_command("corp", "add", "--corp-id", "wwcli2", "--name", "x", "--aes-key", "bad")
    call_command("user", "add", "--corp-id", "wwcli", "--username", "cli_admin",
                 "--password", "cli-password-1", "--role", "admin")
    call_command("token", "create", "--corp-id", "wwcli", "--username", "cli_admin")
    raw = capsys.readouterr().out.strip().splitlines()[-1]
    assert user_for_token(raw).username == "cli_admin"
    with pytest.raises(CommandError, match="No enterprise"), translation.override("en"):
        call_command("user", "add", "--corp-id", "nope", "--username", "u",
                     "--password", "p" * 10, "--role", "staff")


def test_production_mode_refuses_demo_keys(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("SIYU_")}
    env.update({"SIYU_DEBUG": "0", "SIYU_VAR_DIR": str(tmp_path)})
    result = subprocess.run([sys.executable, "-m", "siyu.cli", "check"], env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert "SIYU_SECRET_KEY" in result.stderr
    env["SIYU_SECRET_KEY"] = "a-real-production-secret-key-" + "x" * 30
    result = subprocess.run([sys.executable, "-m", "siyu.cli", "check"], env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode != 0 and "SIYU_ENCRYPTION_KEY" in result.stderr
