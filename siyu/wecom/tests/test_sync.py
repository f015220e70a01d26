"""WeCom sync: stages, counts, idempotence, resume after a crash, concurrency, CLI, console."""

import asyncio
import contextlib
import copy
import re

import pytest
from django.urls import reverse
from django_tasks_db.models import DBTaskResult

from siyu.accounts.models import Department, Employee
from siyu.accounts.tests.factories import CorpFactory, DepartmentFactory, EmployeeFactory
from siyu.customers.models import Customer, CustomerTag, FollowRelation
from siyu.groups.models import CustomerGroup, GroupMember
from siyu.tags.models import Tag, TagGroup
from siyu.wecom.models import SyncRun
from siyu.wecom.sync import sync_execute, sync_start


class FakeWeCom:
    """A small in-memory WeCom behind the async client's method names (unit tests)."""

    def __init__(self, population: dict):
        self.data = copy.deepcopy(population)
        self.calls: list[str] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self.next_tag_id = 900

    async def _call(self, api):
        self.calls.append(api)
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        await asyncio.sleep(0.001)
        self.in_flight -= 1

    async def department_list(self, id=None):
        await self._call("department/list")
        return {"errcode": 0, "department": self.data["departments"]}

    async def user_list(self, department_id):
        await self._call("user/list")
        return {"errcode": 0, "userlist": [u for u in self.data["users"]
                                           if department_id in u["department"]]}

    async def get_follow_user_list(self):
        await self._call("get_follow_user_list")
        return {"errcode": 0, "follow_user": sorted({f["userid"] for f in self.data["follows"]})}

    async def batch_get_by_user(self, userid_list, cursor="", limit=100):
        await self._call("batch/get_by_user")
        rows = [f for f in self.data["follows"] if f["userid"] in userid_list]
        start = int(cursor or 0)
        page = rows[start:start + limit]
        items = [{"external_contact": self.data["customers"][f["external_userid"]],
                  "follow_info": {k: v for k, v in f.items() if k != "external_userid"}}
                 for f in page]
        more = start + limit < len(rows)
        return {"errcode": 0, "external_contact_list": items,
                "next_cursor": str(start + limit) if more else ""}

    async def list_external_contacts(self, userid):
        await self._call("externalcontact/list")
        return {"errcode": 0, "external_userid": [f["external_userid"] for f in self.data["follows"]
                                                  if f["userid"] == userid]}

    async def get_corp_tag_list(self, tag_id=(), group_id=()):
        await self._call("get_corp_tag_list")
        return {"errcode": 0, "tag_group": self.data["tag_groups"]}

    async def add_corp_tag(self, group_id=None, group_name=None, order=0, tag=()):
        await self._call("add_corp_tag")
        group = next((g for g in self.data["tag_groups"] if g["group_id"] == group_id), None)
        if group is None:
            group = {"group_id": f"g{self.next_tag_id}", "group_name": group_name,
                     "order": order, "tag": []}
            self.data["tag_groups"].append(group)
        for t in tag:
            self.next_tag_id += 1
            group["tag"].append({"id": f"t{self.next_tag_id}", "name": t["name"], "order": 0})
        return {"errcode": 0, "tag_group": group}

    async def groupchat_list(self, status_filter=0, owner_filter=None, cursor="", limit=1000):
        await self._call("groupchat/list")
        chats = sorted(self.data["groups"])
        start = int(cursor or 0)
        more = start + limit < len(chats)
        return {"errcode": 0,
                "group_chat_list": [{"chat_id": c, "status": 0}
                                    for c in chats[start:start + limit]],
                "next_cursor": str(start + limit) if more else ""}

    async def groupchat_get(self, chat_id, need_name=1):
        await self._call("groupchat/get")
        return {"errcode": 0, "group_chat": self.data["groups"][chat_id]}


def make_population(customers=30, users=6):
    departments = [{"id": 3, "name": "华东区", "parentid": 2, "order": 1},  # child first
                   {"id": 1, "name": "总部", "parentid": 0, "order": 1},
                   {"id": 2, "name": "销售部", "parentid": 1, "order": 1}]
    user_rows = [{"userid": f"u{i}", "name": f"员工{i}", "department": [1 + i % 3],
                  "is_leader_in_dept": [0], "status": 1, "gender": "1"} for i in range(users)]
    tag_groups = [{"group_id": "gA", "group_name": "等级", "order": 1,
                   "tag": [{"id": "tA1", "name": "金牌", "order": 1},
                           {"id": "tA2", "name": "银牌", "order": 2}]}]
    people = {f"wm{i:03d}": {"external_userid": f"wm{i:03d}", "name": f"客户{i}", "type": 1,
                             "gender": i % 3, "avatar": "", "unionid": ""}
              for i in range(customers)}
    follows = []
    for i, ext in enumerate(people):
        follows.append({"userid": f"u{i % users}", "external_userid": ext, "remark": "",
                        "description": "", "createtime": 1700000000 + i, "add_way": 1,
                        "state": "", "tag_id": ["tA1"] if i % 5 == 0 else []})
        if i % 4 == 0:  # some customers follow two employees
            follows.append({"userid": f"u{(i + 1) % users}", "external_userid": ext,
                            "remark": "", "description": "", "createtime": 1700000000,
                            "add_way": 2, "state": "", "tag_id": []})
    groups = {f"wr{i}": {"chat_id": f"wr{i}", "name": f"群{i}", "owner": "u0", "notice": "",
                         "create_time": 1700000000,
                         "member_list": [{"userid": "u0", "type": 1, "join_scene": 1},
                                         {"userid": f"wm{i:03d}", "type": 2, "join_scene": 3}]}
              for i in range(3)}
    return {"departments": departments, "users": user_rows, "tag_groups": tag_groups,
            "customers": people, "follows": follows, "groups": groups}


def run_sync(corp, fake, *, full=False, **kwargs) -> SyncRun:
    run, _resumed = sync_start(corp=corp, full=full, triggered_by="test")
    return sync_execute(run, client=fake, **kwargs)


def totals(changes: dict, action: str) -> dict:
    return {kind: entry[action] for kind, entry in changes.items() if entry.get(action)}


@pytest.fixture
def corp(db):
    return CorpFactory()


# --- with a fake WeCom --------------------------------------------------------------------------

def test_fake_full_sync_creates_everything_once(corp):
    population = make_population()
    # Also in a department outside the app's visible range, which department/list leaves out.
    population["users"][0]["department"] = [1, 77]
    population["users"][0]["is_leader_in_dept"] = [1, 1]
    fake = FakeWeCom(population)
    run = run_sync(corp, fake, users_per_call=2)
    assert run.status == SyncRun.Status.SUCCEEDED
    follows = len(fake.data["follows"])
    assert totals(run.changes, "created") == {
        "departments": 3, "employees": 6, "tag_groups": 1, "tags": 2, "customers": 30,
        "follows": follows, "customer_tags": 6, "groups": 3, "group_members": 6}
    paths = dict(Department.objects.for_corp(corp).values_list("wecom_id", "path"))
    assert paths == {1: "/1/", 2: "/1/2/", 3: "/1/2/3/"}
    assert FollowRelation.objects.for_corp(corp).count() == follows
    again = run_sync(corp, fake)
    assert totals(again.changes, "created") == totals(again.changes, "updated") == {}


class Killed(BaseException):
    """Stands in for SIGKILL: not an Exception, so nothing marks the run failed."""


def crash_after(stage: str, pages: int, exc_type=RuntimeError):
    def hook(current_stage, committed):
        if current_stage == stage and committed >= pages:
            raise exc_type(f"crash after {committed} pages")
    return hook


def batch_pages(population, users_per_call):
    userids = sorted({f["userid"] for f in population["follows"]})
    groups = [userids[i:i + users_per_call] for i in range(0, len(userids), users_per_call)]
    return sum(-(-sum(1 for f in population["follows"] if f["userid"] in g) // 100)
               for g in groups)


def test_fake_crash_in_customers_resumes_without_duplicates(corp):
    population = make_population(customers=210)
    pages = batch_pages(population, 3)
    assert pages == 4
    reference_corp = CorpFactory()
    reference = run_sync(reference_corp, FakeWeCom(population), users_per_call=3)

    fake = FakeWeCom(population)
    first, _ = sync_start(corp=corp, full=False, triggered_by="test")
    with pytest.raises(RuntimeError, match="crash after 2 pages"):
        sync_execute(first, client=fake, users_per_call=3, after_page=crash_after("customers", 2))
    first.refresh_from_db()
    assert first.status == SyncRun.Status.FAILED and first.stage == "customers"
    assert "crash after 2 pages" in first.error
    # Pages already in flight when the crash came may have committed too; what was saved is
    # exactly what the database holds.
    saved = sum(g["pages"] for g in first.state["customers"]["groups"].values())
    assert 2 <= saved < pages
    assert Customer.objects.for_corp(corp).count() == first.changes["customers"]["created"]
    fetched_before = fake.calls.count("batch/get_by_user")

    run, resumed = sync_start(corp=corp, full=False, triggered_by="test")
    assert resumed and run.pk == first.pk
    run = sync_execute(run, client=fake, users_per_call=3)
    assert run.status == SyncRun.Status.SUCCEEDED
    # Only the pages not yet committed were fetched again, and org/tags were not redone.
    assert fake.calls.count("batch/get_by_user") - fetched_before == pages - saved
    assert fake.calls.count("department/list") == 1
    assert totals(run.changes, "created") == totals(reference.changes, "created")
    assert Customer.objects.for_corp(corp).count() == 210
    assert FollowRelation.objects.for_corp(corp).count() == len(population["follows"])


def test_fake_killed_run_is_resumed_once_its_heartbeat_is_stale(corp, settings):
    from siyu.core.errors import Conflict

    fake = FakeWeCom(make_population())
    run, _ = sync_start(corp=corp, full=False, triggered_by="test")
    with pytest.raises(Killed):
        sync_execute(run, client=fake, users_per_call=2,
                     after_page=crash_after("customers", 1, Killed))
    run.refresh_from_db()
    assert run.status == SyncRun.Status.RUNNING
    with pytest.raises(Conflict, match="still running"):
        sync_start(corp=corp, full=False, triggered_by="test")
    settings.SIYU_SYNC_STALE_SECONDS = 0
    resumed, was_resumed = sync_start(corp=corp, full=False, triggered_by="test")
    assert was_resumed and resumed.pk == run.pk
    done = sync_execute(resumed, client=fake, users_per_call=2)
    assert done.status == SyncRun.Status.SUCCEEDED
    assert done.changes["customers"]["created"] == 30
    assert Customer.objects.for_corp(corp).count() == 30
    assert SyncRun.objects.for_corp(corp).count() == 1


def test_fake_concurrency_is_bounded(corp):
    fake = FakeWeCom(make_population(customers=80, users=12))
    run_sync(corp, fake, users_per_call=1, concurrency=3)
    assert fake.max_in_flight == 3


def test_fake_changes_in_wecom_show_up(corp):
    fake = FakeWeCom(make_population())
    run_sync(corp, fake)
    # In WeCom: u1 deletes customer wm001, a tag is renamed, u5 leaves, dept 3 moves under 1.
    fake.data["follows"] = [f for f in fake.data["follows"]
                            if (f["userid"], f["external_userid"]) != ("u1", "wm001")]
    fake.data["tag_groups"][0]["tag"][0]["name"] = "白金"
    fake.data["users"] = [u for u in fake.data["users"] if u["userid"] != "u5"]
    fake.data["departments"][0]["parentid"] = 1
    run = run_sync(corp, fake, full=True)
    assert totals(run.changes, "created") == {}
    assert totals(run.changes, "updated") == {"tags": 1, "departments": 1}
    assert totals(run.changes, "deleted") == {"follows": 1, "employees": 1}
    ended = FollowRelation.objects.for_corp(corp).get(customer__external_userid="wm001",
                                                      employee__userid="u1")
    assert ended.deleted_at is not None and ended.deleted_by == "employee"
    assert Employee.objects.for_corp(corp).get(userid="u5").status == Employee.Status.RESIGNED
    assert Department.objects.for_corp(corp).get(wecom_id=3).path == "/1/3/"
    assert Tag.objects.for_corp(corp).get(wecom_tag_id="tA1").name == "白金"


def test_fake_edits_of_known_customers_are_not_skipped(corp):
    fake = FakeWeCom(make_population())
    run_sync(corp, fake)
    follows = {(f["userid"], f["external_userid"]): f for f in fake.data["follows"]}
    fake.data["customers"]["wm002"]["name"] = "改名的客户"
    follows[("u3", "wm003")]["remark"] = "新备注"
    follows[("u0", "wm000")]["tag_id"] = []  # tag removed in WeCom
    follows[("u4", "wm004")]["tag_id"] = ["tA2"]  # tag added in WeCom
    # Someone removed a WeCom-reported tag here: the sync puts it back, as WeCom has it.
    CustomerTag.objects.for_corp(corp).filter(customer__external_userid="wm005").delete()
    run = run_sync(corp, fake)
    assert totals(run.changes, "updated") == {"customers": 1, "follows": 1}
    assert totals(run.changes, "created") == {"customer_tags": 2}
    assert totals(run.changes, "deleted") == {"customer_tags": 1}
    assert Customer.objects.for_corp(corp).get(external_userid="wm002").name == "改名的客户"
    assert FollowRelation.objects.for_corp(corp).get(
        customer__external_userid="wm003", employee__userid="u3").remark == "新备注"
    tags = set(CustomerTag.objects.for_corp(corp).filter(
        customer__external_userid__in=["wm000", "wm004", "wm005"])
        .values_list("customer__external_userid", "tag__wecom_tag_id"))
    assert tags == {("wm004", "tA2"), ("wm005", "tA1")}


def test_fake_incremental_sync_does_not_end_follows(corp):
    fake = FakeWeCom(make_population())
    run_sync(corp, fake)
    fake.data["follows"] = fake.data["follows"][1:]
    run = run_sync(corp, fake)
    assert totals(run.changes, "deleted") == {}
    assert "externalcontact/list" not in fake.calls


def test_fake_local_tags_are_pushed_and_linked(corp):
    fake = FakeWeCom(make_population())
    local = TagGroup.objects.create(corp=corp, name="兴趣")
    Tag.objects.create(corp=corp, group=local, name="跑步")
    graded = TagGroup.objects.create(corp=corp, name="等级")  # same name as WeCom's group
    Tag.objects.create(corp=corp, group=graded, name="铜牌")
    run = run_sync(corp, fake)
    assert run.changes["tags_pushed"]["created"] == 2
    assert fake.calls.count("add_corp_tag") == 2
    pushed = {g["group_name"]: sorted(t["name"] for t in g["tag"])
              for g in fake.data["tag_groups"]}
    assert pushed == {"等级": ["金牌", "铜牌", "银牌"], "兴趣": ["跑步"]}
    assert not Tag.objects.for_corp(corp).filter(wecom_tag_id="").exists()
    assert TagGroup.objects.for_corp(corp).get(name="等级").wecom_group_id == "gA"
    again = run_sync(corp, fake)
    assert fake.calls.count("add_corp_tag") == 2
    assert totals(again.changes, "created") == {}


def test_fake_departments_missing_from_wecom_go_only_on_full(corp):
    DepartmentFactory(corp=corp, wecom_id=99, name="旧部门")
    fake = FakeWeCom(make_population())
    run_sync(corp, fake)
    assert Department.objects.for_corp(corp).filter(wecom_id=99).exists()
    run = run_sync(corp, fake, full=True)
    assert run.changes["departments"]["deleted"] == 1
    assert not Department.objects.for_corp(corp).filter(wecom_id=99).exists()


def test_fake_employees_missing_from_wecom_are_resigned_not_deleted(corp):
    gone = EmployeeFactory(corp=corp, userid="left", name="离职者")
    run = run_sync(corp, FakeWeCom(make_population()))
    gone.refresh_from_db()
    assert gone.status == Employee.Status.RESIGNED and gone.resigned_at is not None
    assert run.changes["employees"]["deleted"] == 1
    assert ["deleted", "离职者"] in run.changes["employees"]["examples"]


def test_fake_group_members_and_customers_link(corp):
    run_sync(corp, FakeWeCom(make_population()))
    member = GroupMember.objects.for_corp(corp).get(group__chat_id="wr1", userid="wm001")
    assert member.customer.external_userid == "wm001"
    assert CustomerGroup.objects.for_corp(corp).get(chat_id="wr0").owner.userid == "u0"
    assert CustomerTag.objects.for_corp(corp).filter(tag__wecom_tag_id="tA1").count() == 6


# --- console --------------------------------------------------------------------------------

@pytest.fixture(autouse=True)
def _english(settings):
    settings.LANGUAGE_CODE = "en"


def make_run(corp, **fields) -> SyncRun:
    defaults = {"status": SyncRun.Status.SUCCEEDED, "triggered_by": "cli",
                "changes": {"customers": {"created": 2, "updated": 0, "deleted": 0,
                                          "examples": [["created", "张三"]]}}}
    return SyncRun.objects.create(corp=corp, **{**defaults, **fields})


@pytest.mark.parametrize("role", ["manager", "staff_a"])
def test_console_pages_are_for_admins_only(client, world, role):
    run = make_run(world.corp)
    client.force_login(getattr(world, role))
    assert client.get(reverse("wecom:sync")).status_code == 403
    assert client.get(reverse("wecom:sync_detail", args=[run.pk])).status_code == 403
    assert client.post(reverse("wecom:sync_start")).status_code == 403
    assert SyncRun.objects.for_corp(world.corp).count() == 1


def test_console_shows_only_the_admins_enterprise(client, world, other_world):
    mine, theirs = make_run(world.corp), make_run(other_world.corp, triggered_by="THEIRS")
    client.force_login(world.admin)
    html = client.get(reverse("wecom:sync")).content.decode()
    assert f"#{mine.pk}<" in html and "THEIRS" not in html
    assert client.get(reverse("wecom:sync_detail", args=[theirs.pk])).status_code == 404
    detail = client.get(reverse("wecom:sync_detail", args=[mine.pk]))
    assert detail.status_code == 200
    assert "张三" in detail.content.decode()


def test_console_start_button_enqueues_a_task(client, world, django_capture_on_commit_callbacks):
    client.force_login(world.admin)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("wecom:sync_start"), {"full": "1"})
    run = SyncRun.objects.for_corp(world.corp).get()
    assert response.status_code == 302
    assert response.url == reverse("wecom:sync_detail", args=[run.pk])
    assert run.status == SyncRun.Status.QUEUED and run.full
    assert run.triggered_by == world.admin.username
    job = DBTaskResult.objects.get()
    assert job.task_path == "siyu.wecom.sync_tasks.wecom_sync"
    assert job.args_kwargs["kwargs"] == {"run_id": run.pk, "corp_id": world.corp.pk}
    # A second click while it is queued does not queue another.
    again = client.post(reverse("wecom:sync_start"), follow=True)
    assert "already queued or running" in again.content.decode()
    assert SyncRun.objects.for_corp(world.corp).count() == 1


def test_console_detail_polls_only_while_the_sync_is_live(client, world):
    from django.utils import timezone

    client.force_login(world.admin)
    running = make_run(world.corp, status=SyncRun.Status.RUNNING, stage="customers",
                       heartbeat_at=timezone.now(),
                       progress={"customers": {"done": 3, "total": 10, "items": 250}})
    html = client.get(reverse("wecom:sync_detail", args=[running.pk]),
                      HTTP_HX_REQUEST="true").content.decode()
    assert 'hx-trigger="every 2s"' in html and "<html" not in html
    assert 'value="30"' in html and "250 customer records" in html
    running.status = SyncRun.Status.SUCCEEDED
    running.save()
    html = client.get(reverse("wecom:sync_detail", args=[running.pk])).content.decode()
    assert "every 2s" not in html


def test_task_runs_the_queued_sync(world, monkeypatch):
    from siyu.wecom import sync_tasks
    from siyu.wecom.sync import engine

    fake = FakeWeCom(make_population())
    monkeypatch.setattr(engine, "_default_client", lambda corp: fake)
    run = SyncRun.objects.create(corp=world.corp, status=SyncRun.Status.QUEUED)
    changes = sync_tasks.wecom_sync.call(run_id=run.pk, corp_id=world.corp.pk)
    run.refresh_from_db()
    assert run.status == SyncRun.Status.SUCCEEDED
    assert changes["customers"]["created"] == 30
    assert sync_tasks.wecom_sync.call(run_id=run.pk, corp_id=world.corp.pk) == {"skipped": True}


def test_cli_syncs_then_reports_nothing_changed(corp, monkeypatch):
    from io import StringIO

    from django.core.management import call_command

    from siyu.wecom.sync import engine

    fake = FakeWeCom(make_population())
    monkeypatch.setattr(engine, "_default_client", lambda corp: fake)
    out = StringIO()
    call_command("wecom", "sync", "--corp-id", corp.corp_id, stdout=out)
    text = out.getvalue()
    assert f"of {corp.name} ({corp.corp_id})" in text
    assert "Customers" in text and "30/30" not in text  # progress counts users, not customers
    assert re.search(r"customers\s+30 created\s+0 updated", text)
    assert "created: 客户" in text
    out = StringIO()
    call_command("wecom", "sync", "--corp-id", corp.corp_id, "--full", stdout=out)
    assert "Nothing changed: 0 created, 0 updated, 0 deleted." in out.getvalue()


def test_cli_resumes_a_failed_sync_and_explains_errors(corp, monkeypatch):
    from io import StringIO

    from django.core.management import CommandError, call_command

    from siyu.wecom.sync import engine

    fake = FakeWeCom(make_population())
    monkeypatch.setattr(engine, "_default_client", lambda corp: fake)

    async def broken(*args, **kwargs):
        raise RuntimeError("WeCom is down")

    monkeypatch.setattr(fake, "groupchat_list", broken)
    with pytest.raises(CommandError, match=r"WeCom is down\. Run the same command again"):
        call_command("wecom", "sync", "--corp-id", corp.corp_id, stdout=StringIO())
    monkeypatch.undo()
    monkeypatch.setattr(engine, "_default_client", lambda corp: fake)
    out = StringIO()
    call_command("wecom", "sync", "--corp-id", corp.corp_id, stdout=out)
    failed = SyncRun.objects.for_corp(corp).get()
    assert f"Resuming sync #{failed.pk} " in out.getvalue() and "stage groups" in out.getvalue()
    assert re.search(r"groups\s+3 created", out.getvalue())
    with pytest.raises(CommandError, match="No enterprise with CorpID nope"):
        call_command("wecom", "sync", "--corp-id", "nope", stdout=StringIO())


# --- against the simulator over HTTP ---------------------------------------------------------

@pytest.fixture
def sim():
    from siyu.wecom.simulator.testing import running_simulator

    with running_simulator(seed=7, corp_id="wwsyncsim", employees=30, customers=200,
                           groups=12) as running:
        yield running


@pytest.fixture
def sim_corp(db, sim, settings):
    settings.SIYU_WECOM_RETRY_BASE_SECONDS = 0.01
    return CorpFactory(corp_id=sim.config.corp_id, contact_secret=sim.config.contact_secret,
                       api_base_url=sim.base_url)


def expected_from(state) -> dict:
    """What a first sync must create, computed from the simulator's own state."""
    follow_users = set(state.active_userids())
    pairs = [(ext, userid) for ext, follows in state.follows.items() for userid in follows
             if userid in follow_users]
    tag_links = {(ext, tag_id) for ext, userid in pairs
                 for tag_id in state.follows[ext][userid]["tag_ids"] if tag_id in state.tags}
    return {
        "departments": len(state.departments), "employees": len(state.users),
        "tag_groups": len(state.tag_groups), "tags": len(state.tags),
        "customers": len({ext for ext, _userid in pairs}), "follows": len(pairs),
        "customer_tags": len(tag_links), "groups": len(state.chats),
        "group_members": sum(len(chat["member_list"]) for chat in state.chats.values()),
    }


def sim_errcodes(sim) -> dict:
    return {api: entry["errcodes"] for api, entry in sim.control.calls()["per_api"].items()}


def rows(corp) -> dict:
    return {
        "customers": Customer.objects.for_corp(corp).count(),
        "follows": FollowRelation.objects.for_corp(corp).count(),
        "customer_tags": CustomerTag.objects.for_corp(corp).count(),
        "groups": CustomerGroup.objects.for_corp(corp).count(),
        "group_members": GroupMember.objects.for_corp(corp).count(),
        "tags": Tag.objects.for_corp(corp).count(),
        "employees": Employee.objects.for_corp(corp).count(),
    }


def test_sim_full_sync_creates_the_population_then_changes_nothing(sim, sim_corp):
    expected = expected_from(sim.simulator.state)
    run, _ = sync_start(corp=sim_corp, full=True, triggered_by="test")
    run = sync_execute(run)
    assert run.status == SyncRun.Status.SUCCEEDED
    assert totals(run.changes, "created") == expected
    assert totals(run.changes, "updated") == {}
    # The one exited member comes in as resigned; nothing else is removed.
    assert totals(run.changes, "deleted") == {}
    assert rows(sim_corp) == {k: expected[k] for k in rows(sim_corp)}
    resigned = [u for u, user in sim.simulator.state.users.items() if user["status"] == 5]
    assert list(Employee.objects.for_corp(sim_corp).filter(status=Employee.Status.RESIGNED)
                .values_list("userid", flat=True)) == resigned

    again = sync_execute(sync_start(corp=sim_corp, full=True, triggered_by="test")[0])
    assert again.status == SyncRun.Status.SUCCEEDED
    assert again.changes == {}
    assert rows(sim_corp) == {k: expected[k] for k in rows(sim_corp)}
    errcodes = sim_errcodes(sim)
    assert not any({"45009", "45033"} & set(codes) for codes in errcodes.values()), errcodes


def test_sim_changes_in_wecom_show_up_in_the_next_sync(sim, sim_corp):
    sync_execute(sync_start(corp=sim_corp, full=True, triggered_by="test")[0])
    state = sim.simulator.state
    removed = sim.control.delete_customer()  # a member deletes one of their customers
    tag_id = next(iter(state.tags))
    sim.control.edit_tags(op="update", id=tag_id, name="改过的名字")
    run = sync_execute(sync_start(corp=sim_corp, full=True, triggered_by="test")[0])
    assert totals(run.changes, "created") == {}
    assert totals(run.changes, "updated") == {"tags": 1}
    assert totals(run.changes, "deleted") == {"follows": 1}
    follow = FollowRelation.objects.for_corp(sim_corp).get(
        customer__external_userid=removed["external_userid"], employee__userid=removed["userid"])
    assert follow.deleted_at is not None and follow.deleted_by == "employee"
    assert Tag.objects.for_corp(sim_corp).get(wecom_tag_id=tag_id).name == "改过的名字"
    assert ["updated", f"{Tag.objects.for_corp(sim_corp).get(wecom_tag_id=tag_id).group.name}"
            "/改过的名字"] in run.changes["tags"]["examples"]


@pytest.mark.parametrize("users_per_call", [100, 10])
def test_sim_sync_interrupted_in_customers_resumes_with_the_same_counts(sim, sim_corp,
                                                                        users_per_call):
    """100: one group of users, its pages one after another, killed after the first. 10: three
    groups paging concurrently; pages in flight at the kill may commit too."""
    expected = expected_from(sim.simulator.state)
    run, _ = sync_start(corp=sim_corp, full=False, triggered_by="test")
    with pytest.raises(Killed):
        sync_execute(run, users_per_call=users_per_call,
                     after_page=crash_after("customers", 1, Killed))
    run.refresh_from_db()
    assert run.status == SyncRun.Status.RUNNING and run.stage == "customers"
    saved = sum(g["pages"] for g in run.state["customers"]["groups"].values())
    partial = Customer.objects.for_corp(sim_corp).count()
    assert partial == run.changes["customers"]["created"] > 0
    if users_per_call == 100:
        assert saved == 1 and partial < expected["customers"]
    batch_calls = sim.control.calls()["per_api"]["externalcontact/batch/get_by_user"]["total"]

    SyncRun.objects.for_corp(sim_corp).filter(pk=run.pk).update(heartbeat_at=None)  # went stale
    resumed, was_resumed = sync_start(corp=sim_corp, full=False, triggered_by="test")
    assert was_resumed and resumed.pk == run.pk
    done = sync_execute(resumed, users_per_call=users_per_call)
    assert done.status == SyncRun.Status.SUCCEEDED
    assert totals(done.changes, "created") == expected
    assert rows(sim_corp) == {k: expected[k] for k in rows(sim_corp)}
    assert SyncRun.objects.for_corp(sim_corp).count() == 1
    calls = sim.control.calls()["per_api"]
    if users_per_call == 100:
        # The resumed run fetched only the two pages not yet committed, and redid no stage.
        assert calls["externalcontact/batch/get_by_user"]["total"] - batch_calls == 2
        assert calls["department/list"]["errcodes"].get("0") == 1


def test_sim_concurrency_stays_within_the_simulators_limits(sim, sim_corp):
    # The simulator answers 45033 beyond 3 concurrent calls per API; slow answers make the
    # calls overlap, so a sync running more at once would see it (next test).
    sim.control.configure(max_concurrency=3, latency_ms=40)
    expected = expected_from(sim.simulator.state)
    run = sync_execute(sync_start(corp=sim_corp, full=True, triggered_by="test")[0],
                       users_per_call=2, concurrency=3)
    assert run.status == SyncRun.Status.SUCCEEDED
    assert totals(run.changes, "created") == expected
    errcodes = sim_errcodes(sim)
    assert not any({"45009", "45033"} & set(codes) for codes in errcodes.values()), errcodes


def test_sim_concurrency_limit_is_real(sim, sim_corp):
    """The control for the test above: 8 at once against the same limit draws 45033."""
    from siyu.wecom.errors import WeComTransientError

    sim.control.configure(max_concurrency=3, latency_ms=40)
    # Whether the client's retries absorb every 45033 here is the client's business.
    with contextlib.suppress(WeComTransientError):
        sync_execute(sync_start(corp=sim_corp, full=True, triggered_by="test")[0],
                     users_per_call=2, concurrency=8)
    assert any("45033" in codes for codes in sim_errcodes(sim).values())


def test_heartbeat_stays_fresh_while_a_call_waits_long(corp, settings, monkeypatch):
    from siyu.wecom.sync.context import SyncContext

    settings.SIYU_SYNC_STALE_SECONDS = 6  # beats every second
    beats = []
    original = SyncContext.beat
    monkeypatch.setattr(SyncContext, "beat", lambda ctx: beats.append(1) or original(ctx))
    fake = FakeWeCom(make_population())
    fast = fake.get_follow_user_list

    async def slow():  # e.g. waiting out a rate-limit block
        await asyncio.sleep(2.5)
        return await fast()

    fake.get_follow_user_list = slow
    run = run_sync(corp, fake)
    assert run.status == SyncRun.Status.SUCCEEDED
    assert len(beats) >= 2


def test_redriven_task_waits_for_a_stale_heartbeat_then_resumes(world, monkeypatch, settings):
    from siyu.core.jobs import TransientError
    from siyu.wecom import sync_tasks
    from siyu.wecom.sync import engine

    fake = FakeWeCom(make_population())
    monkeypatch.setattr(engine, "_default_client", lambda corp: fake)
    run = SyncRun.objects.create(corp=world.corp, status=SyncRun.Status.QUEUED)
    with pytest.raises(Killed):  # the worker process dies mid-run
        sync_execute(run, users_per_call=2, after_page=crash_after("customers", 1, Killed))
    # Re-driven at once: the heartbeat is still fresh, so it is retried later, not run twice.
    with pytest.raises(TransientError, match="running in another process"):
        sync_tasks.wecom_sync.call(run_id=run.pk, corp_id=world.corp.pk)
    settings.SIYU_SYNC_STALE_SECONDS = 0
    changes = sync_tasks.wecom_sync.call(run_id=run.pk, corp_id=world.corp.pk)
    assert changes["customers"]["created"] == 30
    assert SyncRun.objects.for_corp(world.corp).get().status == SyncRun.Status.SUCCEEDED
