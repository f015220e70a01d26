"""Writes for enterprises, the organisation, users and logins."""

import re

from django.contrib.auth import authenticate, login
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from siyu.accounts.auth import generate_token, hash_token, login_locked_until
from siyu.accounts.models import (
    ApiToken,
    Corp,
    Department,
    Employee,
    EmployeeDepartment,
    LoginAttempt,
    User,
)
from siyu.accounts.roles import Role
from siyu.core.audit import audit_record
from siyu.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed

CORP_ID_RE = re.compile(r"^[A-Za-z0-9_-]{2,64}$")
AES_KEY_RE = re.compile(r"^[A-Za-z0-9+/]{43}$")


def corp_create(*, corp_id: str, name: str, token: str = "", aes_key: str = "", secret: str = "",
                actor=None) -> Corp:
    errors: dict[str, list[str]] = {}
    corp_id, name = (corp_id or "").strip(), (name or "").strip()
    if not CORP_ID_RE.match(corp_id):
        errors["corp_id"] = [_("Use 2–64 letters, digits, “_” or “-”, as WeCom shows it.")]
    if not name:
        errors["name"] = [_("Give the enterprise a name.")]
    if aes_key and not AES_KEY_RE.match(aes_key):
        errors["aes_key"] = [_("The EncodingAESKey is exactly 43 letters and digits from the "
                               "WeCom callback settings.")]
    if errors:
        raise ValidationFailed(_("The enterprise could not be created."), field_errors=errors)
    with transaction.atomic():
        if Corp.objects.filter(corp_id=corp_id).exists():
            raise Conflict(_("An enterprise with CorpID %(id)s already exists.") % {"id": corp_id},
                           field_errors={"corp_id": [_("Already registered.")]})
        corp = Corp.objects.create(corp_id=corp_id, name=name, callback_token=token,
                                   encoding_aes_key=aes_key, contact_secret=secret)
        audit_record(corp=corp, actor=actor, action="corp.create", obj=corp,
                     changes={"corp_id": [None, corp_id], "name": [None, name]})
    return corp


def corp_get(corp_id: str) -> Corp:
    try:
        return Corp.objects.get(corp_id=corp_id)
    except Corp.DoesNotExist:
        raise NotFound(_("No enterprise with CorpID %(id)s. See `siyu corp list`.")
                       % {"id": corp_id}) from None


def user_create(*, corp: Corp, username: str, password: str, role: str, employee_userid=None,
                actor=None, validate=True) -> User:
    errors: dict[str, list[str]] = {}
    username = (username or "").strip()
    if not re.match(r"^[\w.@+-]{2,150}$", username):
        errors["username"] = [_("Use 2–150 letters, digits or . @ + - _")]
    if role not in Role.values:
        errors["role"] = [_("Choose one of: %(roles)s.") % {"roles": ", ".join(Role.values)}]
    if validate:
        try:
            validate_password(password)
        except ValidationError as exc:
            errors["password"] = list(exc.messages)
    employee = None
    if employee_userid:
        employee = Employee.objects.for_corp(corp).filter(userid=employee_userid).first()
        if employee is None:
            errors["employee"] = [_("No employee with userid %(u)s in this enterprise.")
                                  % {"u": employee_userid}]
        elif User.objects.unscoped().filter(employee=employee).exists():
            errors["employee"] = [_("This employee already has a console user.")]
    if errors:
        raise ValidationFailed(_("The user could not be created."), field_errors=errors)
    with transaction.atomic():
        if User.objects.unscoped().filter(username=username).exists():
            raise Conflict(_("The username %(u)s is taken.") % {"u": username},
                           field_errors={"username": [_("Already taken; choose another.")]})
        user = User.objects.create_user(username=username, password=password, corp=corp,
                                        role=role, employee=employee)
        audit_record(corp=corp, actor=actor, action="user.create", obj=user,
                     changes={"role": [None, role]})
    return user


def api_token_create(*, corp: Corp, username: str, name: str = "", actor=None) -> str:
    """Creates a token and returns it in clear text, once; only its hash is stored."""
    user = User.objects.for_corp(corp).filter(username=username).first()
    if user is None:
        raise NotFound(_("No user %(u)s in enterprise %(c)s.") % {"u": username, "c": corp.corp_id})
    raw = generate_token()
    with transaction.atomic():
        token = ApiToken.objects.create(corp=corp, user=user, name=name, prefix=raw[:12],
                                        token_hash=hash_token(raw))
        audit_record(corp=corp, actor=actor, action="token.create", obj=token)
    return raw


def session_login(*, request, username: str, password: str) -> User:
    """Password login with throttling; every attempt is recorded and audited."""
    username = (username or "").strip()[:150]
    ip = request.META.get("REMOTE_ADDR")
    locked_until = login_locked_until(username)
    if locked_until is not None:
        minutes = max(1, int((locked_until - timezone.now()).total_seconds() // 60) + 1)
        raise PermissionDenied(
            _("Too many failed sign-ins for this account. Try again in %(m)d minutes.")
            % {"m": minutes}
        )
    user = authenticate(request, username=username, password=password)
    LoginAttempt.objects.create(username=username, ip_address=ip, succeeded=user is not None)
    if user is None or user.corp_id is None:
        known = User.objects.unscoped().filter(username=username).select_related("corp").first()
        audit_record(corp=known.corp if known else None, actor=None, action="login.failed",
                     object_type="accounts.user", object_id=known.pk if known else "",
                     object_repr=username, ip=ip)
        raise ValidationFailed(_("Wrong username or password."),
                               field_errors={"password": [_("Check and try again.")]})
    login(request, user)
    audit_record(corp=user.corp, actor=user, action="login", obj=user, ip=ip)
    return user


@transaction.atomic
def department_upsert(*, corp: Corp, wecom_id: int, name: str, parent_wecom_id=None,
                      order: int = 0) -> Department:
    parent = None
    if parent_wecom_id:
        parent = Department.objects.for_corp(corp).filter(wecom_id=parent_wecom_id).first()
    path = f"{parent.path if parent else '/'}{wecom_id}/"
    dept, _created = Department.objects.for_corp(corp).update_or_create(
        corp=corp, wecom_id=wecom_id,
        defaults={"name": name, "parent": parent, "order": order, "path": path},
    )
    return dept


@transaction.atomic
def employee_upsert(*, corp: Corp, userid: str, name: str, department_wecom_ids=(),
                    leader_wecom_ids=(), mobile="", email="", position="", gender=0,
                    status=Employee.Status.ACTIVE) -> Employee:
    employee, _created = Employee.objects.for_corp(corp).update_or_create(
        corp=corp, userid=userid,
        defaults={"name": name, "mobile": mobile, "email": email, "position": position,
                  "gender": gender, "status": status},
    )
    depts = list(Department.objects.for_corp(corp).filter(wecom_id__in=list(department_wecom_ids)))
    EmployeeDepartment.objects.for_corp(corp).filter(employee=employee).exclude(
        department__in=depts).delete()
    for dept in depts:
        EmployeeDepartment.objects.for_corp(corp).update_or_create(
            corp=corp, employee=employee, department=dept,
            defaults={"is_leader": dept.wecom_id in set(leader_wecom_ids)},
        )
    main = next((d for d in depts if d.wecom_id == (list(department_wecom_ids) or [None])[0]), None)
    if employee.main_department_id != getattr(main, "pk", None):
        employee.main_department = main
        employee.save(update_fields=["main_department"])
    return employee


@transaction.atomic
def employee_resign(*, corp: Corp, employee: Employee, when=None) -> Employee:
    """Marks an employee who left the enterprise in WeCom. The row and its departments stay:
    their customers and groups still need to be handed over (resigned transfer)."""
    if employee.status == Employee.Status.RESIGNED:
        return employee
    employee.status = Employee.Status.RESIGNED
    employee.resigned_at = when or timezone.now()
    employee.save(update_fields=["status", "resigned_at"])
    audit_record(corp=corp, actor=None, action="employee.resign", obj=employee,
                 changes={"status": [Employee.Status.ACTIVE, Employee.Status.RESIGNED]})
    return employee


@transaction.atomic
def department_delete(*, corp: Corp, department: Department) -> None:
    """Removes a department WeCom no longer has; members keep their other departments."""
    audit_record(corp=corp, actor=None, action="department.delete", obj=department,
                 changes={"name": [department.name, None]})
    Department.objects.for_corp(corp).filter(pk=department.pk).delete()
