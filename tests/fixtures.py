"""Shared fixtures: two enterprises, each with admin / manager / staff users and customers.

Layout per corp (department wecom ids in brackets)::

    总部 [1]
    ├── 销售部 [2]           manager (leader), staff_a is not here
    │   └── 华东区 [3]       staff_a  → customers "A1", "A2"
    └── 客服部 [4]           staff_b  → customer  "B1"
    admin (no employee) sees all; manager sees staff_a's customers and their own ("M1").
"""

from dataclasses import dataclass, field

import pytest

from siyu.accounts.tests.factories import (
    CorpFactory,
    DepartmentFactory,
    EmployeeFactory,
    UserFactory,
)
from siyu.customers.tests.factories import CustomerFactory, FollowFactory, TagFactory
from siyu.wecom import feeder

PASSWORD = "correct-horse-1"


@dataclass
class World:
    corp: object
    admin: object
    manager: object
    staff_a: object
    staff_b: object
    customers: dict = field(default_factory=dict)
    tags: dict = field(default_factory=dict)
    departments: dict = field(default_factory=dict)
    employees: dict = field(default_factory=dict)


def build_world(prefix: str) -> World:
    corp = CorpFactory(corp_id=f"ww{prefix}corp", name=f"{prefix}企业")
    root = DepartmentFactory(corp=corp, wecom_id=1, name="总部")
    sales = DepartmentFactory(corp=corp, wecom_id=2, name="销售部", parent=root)
    east = DepartmentFactory(corp=corp, wecom_id=3, name="华东区", parent=sales)
    service = DepartmentFactory(corp=corp, wecom_id=4, name="客服部", parent=root)
    emp_m = EmployeeFactory(corp=corp, userid=f"{prefix}_mgr", name=f"{prefix}经理",
                            departments=[sales])
    emp_a = EmployeeFactory(corp=corp, userid=f"{prefix}_a", name=f"{prefix}销售甲",
                            departments=[east])
    emp_b = EmployeeFactory(corp=corp, userid=f"{prefix}_b", name=f"{prefix}客服乙",
                            departments=[service])
    world = World(
        corp=corp,
        admin=UserFactory(corp=corp, username=f"{prefix}_admin", role="admin"),
        manager=UserFactory(corp=corp, username=f"{prefix}_manager", role="manager",
                            employee=emp_m),
        staff_a=UserFactory(corp=corp, username=f"{prefix}_staff_a", role="staff",
                            employee=emp_a),
        staff_b=UserFactory(corp=corp, username=f"{prefix}_staff_b", role="staff",
                            employee=emp_b),
        departments={"root": root, "sales": sales, "east": east, "service": service},
        employees={"manager": emp_m, "a": emp_a, "b": emp_b},
    )
    for idx, (key, emp) in enumerate((("A1", emp_a), ("A2", emp_a), ("B1", emp_b),
                                      ("M1", emp_m))):
        customer = CustomerFactory(corp=corp, name=f"{prefix}客户{key}",
                                   phones=[f"139{ord(prefix[0]):04d}{idx:04d}"])
        FollowFactory(corp=corp, customer=customer, employee=emp, remark=f"备注{prefix}{key}",
                      state=f"channel_{key[0].lower()}")
        world.customers[key] = customer
    world.tags["vip"] = TagFactory(corp=corp, name="VIP", group__corp=corp, group__name="客户等级")
    return world


@pytest.fixture
def world(db):
    return build_world("x")


@pytest.fixture
def other_world(db):
    return build_world("y")


# The organisation of world "x" as WeCom knows it, for a simulator mirroring it
# (running_simulator(corp_id="wwxcorp", mirror=WORLD_MIRROR)).
WORLD_MIRROR = {
    "departments": [{"id": 1, "name": "总部", "parentid": 0},
                    {"id": 2, "name": "销售部", "parentid": 1},
                    {"id": 3, "name": "华东区", "parentid": 2},
                    {"id": 4, "name": "客服部", "parentid": 1}],
    "users": [{"userid": "x_mgr", "name": "x经理", "department": [2]},
              {"userid": "x_a", "name": "x销售甲", "department": [3]},
              {"userid": "x_b", "name": "x客服乙", "department": [4]}],
    "customers": [],
}


def corp_on_simulator(sim, settings):
    """A new corp whose WeCom is the running simulator ``sim``."""
    settings.SIYU_WECOM_RETRY_BASE_SECONDS = 0.01
    return CorpFactory(corp_id=sim.config.corp_id, contact_secret=sim.config.contact_secret,
                       api_base_url=sim.base_url)


def world_on_simulator(world, sim, settings):
    """World "x"'s corp pointed at a simulator that mirrors it (WORLD_MIRROR)."""
    settings.SIYU_WECOM_RETRY_BASE_SECONDS = 0.01
    settings.SIYU_WECOM_RETRY_MAX_TRIES = 2
    world.corp.api_base_url = sim.base_url
    world.corp.contact_secret = sim.config.contact_secret
    world.corp.save()
    return world.corp


@pytest.fixture
def in_english():
    """Messages compared in their English source; the default language is Chinese. Use with
    ``pytestmark = pytest.mark.usefixtures("in_english")``."""
    from django.utils import translation

    with translation.override("en"):
        yield


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # PBKDF2's deliberate slowness would dominate the suite's run time.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _feeder_lease_forgotten():
    # The feeder remembers per thread that it holds its lease; the lease row lived in the
    # previous test's database state, so each test starts without it.
    feeder._lease.held_until = feeder._lease.next_try = 0.0


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix):
    # Live-server request threads end without closing persistent connections, which would keep
    # the PostgreSQL test database busy at teardown; tests don't need connection reuse.
    from django.conf import settings

    settings.DATABASES["default"]["CONN_MAX_AGE"] = 0
