"""A channel live code run as an operator would, end to end over real HTTP: an admin creates
the code in the console (two employees, a tag, a welcome with the customer's name); a customer
scans its QR code (the simulator's PNG encodes the scan URL, opened as a phone would); the
simulator's callback reaches Siyu's callback endpoint and a real ``siyu worker`` dispatches it;
then the console shows the new customer with the code's tag, and the code's page shows the add
and the welcome as sent, while WeCom (the simulator) received the welcome and the mark_tag."""

import re

import pytest
from django.core.servers.basehttp import WSGIRequestHandler
from playwright.sync_api import expect

from siyu.accounts.tests.factories import CorpFactory, EmployeeFactory, UserFactory
from siyu.acquisition.models import LiveCode, LiveCodeAdd
from siyu.customers.models import Customer, CustomerTag
from siyu.customers.tests.factories import TagFactory
from siyu.engagement.models import WelcomeDelivery
from siyu.wecom.simulator.qr import qr_png
from siyu.wecom.simulator.testing import running_simulator
from tests.e2e.wecom_support import Workers
from tests.fixtures import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

CORP_ID = "wwe2eacquisition001"
WELCOME = "你好 {customer_name}，我是 {employee_name}，欢迎来到直播间！"


@pytest.fixture
def sim(live_server, monkeypatch):
    # As in test_wecom_flow: without TCP_NODELAY each kept-alive answer waits ~40 ms.
    monkeypatch.setattr(WSGIRequestHandler, "disable_nagle_algorithm", True)
    with running_simulator(corp_id=CORP_ID, seed=21, employees=4, customers=0, groups=0,
                           callback_url=f"{live_server.url}/wecom/callback/{CORP_ID}/") as running:
        yield running


@pytest.fixture
def corp(sim):
    config = sim.config
    return CorpFactory(corp_id=config.corp_id, name="直播电商",
                       contact_secret=config.contact_secret,
                       callback_token=config.callback_token, encoding_aes_key=config.aes_key,
                       api_base_url=sim.base_url)


@pytest.fixture
def workers(tmp_path, corp):
    pool = Workers(tmp_path)
    yield pool
    pool.stop_all()


@pytest.fixture
def patient_browser():
    """Worker subprocesses, the simulator and the live server share the machine with the
    browser here; on a busy machine a page can take longer than the console tests' 5 s."""
    expect.set_options(timeout=15_000)
    yield 15_000
    expect.set_options(timeout=5_000)


def _vip_tag(sim, corp):
    """The simulator's corp tag 客户等级/VIP, known to Siyu by its WeCom ids."""
    wecom = sim.simulator.state
    [group] = [g for g in wecom.tag_groups.values() if g["group_name"] == "客户等级"]
    [tag_id] = [t for t in group["tag_ids"] if wecom.tags[t]["name"] == "VIP"]
    return TagFactory(corp=corp, name="VIP", wecom_tag_id=tag_id, group__corp=corp,
                      group__name="客户等级", group__wecom_group_id=group["group_id"])


def _sign_in(page, user):
    page.goto("/acquisition/live-codes/")
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/acquisition/live-codes/$"))


def test_campaign_code_created_in_the_console_tags_and_welcomes_a_scanning_customer(
        open_page, corp, sim, workers, patient_browser):
    users = [u for u in sim.control.population()["users"] if u["status"] == 1][:2]
    employees = [EmployeeFactory(corp=corp, userid=u["userid"], name=u["name"]) for u in users]
    vip = _vip_tag(sim, corp)
    admin = UserFactory(corp=corp, username="campaign_admin", role="admin")
    workers.start()

    # The operator creates the code in the console.
    page = open_page()
    page.set_default_timeout(patient_browser)
    _sign_in(page, admin)
    page.get_by_role("link", name="New live code").click()
    page.get_by_label("Name").fill("双11 直播间")
    page.locator('select[name="members-0-who"]').select_option(
        label=f"{employees[0].name} ({employees[0].userid})")
    page.get_by_role("button", name="Add an employee or department").click()
    page.locator('select[name="members-1-who"]').select_option(
        label=f"{employees[1].name} ({employees[1].userid})")
    page.get_by_label("VIP").check()
    page.get_by_label("Welcome text").fill(WELCOME)
    page.get_by_role("button", name="Create live code").click()

    expect(page.get_by_role("heading", name="双11 直播间", level=1)).to_be_visible()
    code = LiveCode.objects.for_corp(corp).get()
    assert list(code.tags.all()) == [vip]
    assert sorted(m.employee.userid for m in code.members.all()) == sorted(
        e.userid for e in employees)
    assert page.get_by_role("img", name="QR code of 双11 直播间").evaluate(
        "img => img.complete && img.naturalWidth > 0")

    # The QR image the console serves is WeCom's, and it encodes the scan URL: a customer's
    # phone opens it.
    scan_url = f"{sim.root_url}/sim/scan/{code.wecom_config_id}"
    png = page.request.get(f"/acquisition/live-codes/{code.pk}/qr.png?download=1")
    assert png.ok and png.headers["content-type"] == "image/png"
    assert png.body() == qr_png(scan_url)
    phone = page.context.new_page()
    phone.goto(scan_url)
    expect(phone.get_by_text("added")).to_be_visible()
    external_userid = phone.locator("code").first.text_content()
    phone.close()

    # The callback is stored by the live server and dispatched by the worker: customer,
    # attribution, tags (locally, then mark_tag in a follow-up job) and the welcome.
    def done():
        return (WelcomeDelivery.objects.for_corp(corp).filter(status="sent").exists()
                and CustomerTag.objects.for_corp(corp).filter(tag=vip).exists()
                and any(m["external_userid"] == external_userid
                        for m in sim.control.tag_marks()))
    workers.wait_for(done, "the add to be attributed, tagged in WeCom and welcomed", 30)

    customer = Customer.objects.for_corp(corp).get(external_userid=external_userid)
    add = LiveCodeAdd.objects.for_corp(corp).get()
    assert (add.live_code, add.customer, add.new_customer) == (code, customer, True)
    assert add.employee in employees
    [welcome] = [w for w in sim.control.welcome_messages()
                 if w["external_userid"] == external_userid]
    assert welcome["text"] == WELCOME.format(customer_name=customer.name,
                                             employee_name=add.employee.name)
    assert welcome["delay_s"] < 20
    [mark] = [m for m in sim.control.tag_marks() if m["external_userid"] == external_userid]
    assert (mark["userid"], mark["add_tag"]) == (add.employee.userid, [vip.wecom_tag_id])

    # The operator sees the customer with the code's tag ...
    page.goto("/customers/")
    row = page.locator("#customer-table tr", has=page.get_by_role("link", name=customer.name))
    expect(row.locator(".badge-tag", has_text="VIP")).to_be_visible()
    row.get_by_role("link", name=customer.name).click()
    expect(page.get_by_role("heading", name=customer.name, level=1)).to_be_visible()
    expect(page.locator("#customer-tags").get_by_text("VIP")).to_be_visible()

    # ... and, on the code's page, the add and its welcome as sent.
    page.goto(f"/acquisition/live-codes/{code.pk}/")
    adds = page.locator("table", has=page.get_by_role("columnheader", name="Added"))
    expect(adds.get_by_role("link", name=customer.name)).to_be_visible()
    expect(adds.get_by_text(add.employee.name)).to_be_visible()
    welcomes = page.locator("#live-code-welcomes")
    expect(welcomes.locator("tbody tr")).to_have_count(1)
    expect(welcomes.get_by_text("Sent", exact=True)).to_be_visible()
    expect(welcomes.get_by_text(customer.name)).to_be_visible()

    # The list counts it.
    page.goto("/acquisition/live-codes/")
    listed = page.locator("#live-code-table tr", has=page.get_by_role("link", name="双11 直播间"))
    expect(listed.locator("td.num").first).to_have_text("1")
