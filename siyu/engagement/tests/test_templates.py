"""Default welcome templates: saving (validated, audited, nothing written on error) and which
one applies to an employee (override, own, nearest department up the tree, main first)."""

import pytest

from siyu.accounts.tests.factories import CorpFactory, DepartmentFactory, EmployeeFactory
from siyu.core.errors import ValidationFailed
from siyu.core.models import AuditLog
from siyu.engagement.models import WelcomeTemplate
from siyu.engagement.selectors import welcome_for
from siyu.engagement.services import welcome_template_save
from siyu.engagement.welcome import Welcome

pytestmark = pytest.mark.django_db


@pytest.fixture
def org():
    corp = CorpFactory()
    root = DepartmentFactory(corp=corp, wecom_id=1)
    sales = DepartmentFactory(corp=corp, wecom_id=2, parent=root)
    east = DepartmentFactory(corp=corp, wecom_id=3, parent=sales)
    support = DepartmentFactory(corp=corp, wecom_id=4, parent=root)
    # Main department is east (under sales); also a member of support.
    employee = EmployeeFactory(corp=corp, departments=[east, support])
    return corp, {"root": root, "sales": sales, "east": east, "support": support}, employee


def save(corp, text, **scope):
    return welcome_template_save(corp=corp, actor=None, text=text, **scope)


def text_for(corp, employee, override=None):
    welcome = welcome_for(corp, employee, override)
    return welcome and (welcome.text, welcome.source)


def test_nothing_configured_gives_none(org):
    corp, _depts, employee = org
    assert welcome_for(corp, employee) is None


def test_precedence_override_employee_nearest_department(org):
    corp, depts, employee = org
    save(corp, "root", department=depts["root"])
    assert text_for(corp, employee) == ("root", "department")
    save(corp, "support", department=depts["support"])
    # The main department's chain (east, sales, root) comes before other memberships.
    assert text_for(corp, employee) == ("root", "department")
    save(corp, "sales", department=depts["sales"])
    assert text_for(corp, employee) == ("sales", "department")
    save(corp, "east", department=depts["east"])
    assert text_for(corp, employee) == ("east", "department")
    save(corp, "mine", employee=employee)
    assert text_for(corp, employee) == ("mine", "employee")
    assert text_for(corp, employee, Welcome("code's")) == ("code's", "live_code")


def test_other_department_used_when_main_chain_has_none(org):
    corp, depts, employee = org
    save(corp, "support", department=depts["support"])
    assert text_for(corp, employee) == ("support", "department")


def test_disabled_template_is_passed_over(org):
    corp, depts, employee = org
    save(corp, "sales", department=depts["sales"])
    welcome_template_save(corp=corp, actor=None, employee=employee, text="mine", enabled=False)
    assert text_for(corp, employee) == ("sales", "department")


def test_other_corps_templates_never_apply(org):
    corp, _depts, employee = org
    other = CorpFactory()
    other_dept = DepartmentFactory(corp=other, wecom_id=3)
    save(other, "other corp", department=other_dept)
    assert welcome_for(corp, employee) is None


def test_save_replaces_and_audits(org):
    corp, _depts, employee = org
    first = save(corp, "one", employee=employee)
    second = save(corp, "two {employee_name}", employee=employee)
    assert first.pk == second.pk
    assert WelcomeTemplate.objects.for_corp(corp).get().text == "two {employee_name}"
    actions = list(AuditLog.objects.for_corp(corp).values_list("action", flat=True))
    assert sorted(actions) == ["welcome_template.create", "welcome_template.update"]


def test_invalid_content_writes_nothing(org):
    corp, _depts, employee = org
    with pytest.raises(ValidationFailed) as caught:
        welcome_template_save(corp=corp, actor=None, employee=employee, text="{nick}",
                              attachments=[{"msgtype": "file", "file": {}}])
    assert set(caught.value.field_errors) == {"text", "attachments"}
    assert not WelcomeTemplate.objects.for_corp(corp).exists()


def test_exactly_one_scope_is_required(org):
    corp, depts, employee = org
    for scope in ({}, {"employee": employee, "department": depts["root"]}):
        with pytest.raises(ValidationFailed) as caught:
            save(corp, "x", **scope)
        assert "scope" in caught.value.field_errors
    assert not WelcomeTemplate.objects.for_corp(corp).exists()
