"""The WeCom simulator over real HTTP: shapes, errcodes and limits of wecom-api.md, and the
callbacks it sends (decrypted with WeComCrypto)."""

import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest
from defusedxml import ElementTree

from siyu.wecom.crypto import WeComCrypto
from siyu.wecom.simulator.clock import Clock
from siyu.wecom.simulator.config import SimConfig
from siyu.wecom.simulator.core import Simulator
from siyu.wecom.simulator.testing import SimulatorError, running_simulator

SECRET = SimConfig().contact_secret


class Api:
    """A minimal WeCom caller for the tests: a token, then GET/POST with errcodes kept."""

    def __init__(self, sim, secret=SECRET):
        self.sim = sim
        self.http = httpx.Client(base_url=sim.base_url, timeout=10)
        self.token = self.gettoken(secret)["access_token"]

    def gettoken(self, secret=SECRET, corpid=None):
        return self.http.get("gettoken", params={
            "corpid": corpid or self.sim.config.corp_id, "corpsecret": secret}).json()

    def refresh(self):
        """After the tests move the clock past the token's 2 hours."""
        self.token = self.gettoken()["access_token"]

    def get(self, path, **params):
        return self.http.get(path, params={"access_token": self.token, **params}).json()

    def post(self, path, body=None, token=None):
        return self.http.post(path, params={"access_token": token or self.token},
                              json=body or {}).json()


@pytest.fixture
def sim():
    with running_simulator(seed=7, customers=60, groups=4) as running:
        yield running


@pytest.fixture
def api(sim):
    return Api(sim)


def test_gettoken_answers_token_or_wecom_errcodes(sim):
    api = Api(sim)
    ok = api.gettoken()
    assert ok["errcode"] == 0 and 7190 < ok["expires_in"] <= 7200 and ok["access_token"]
    assert api.gettoken()["access_token"] == ok["access_token"]  # same while valid
    assert api.gettoken(corpid="wwother")["errcode"] == 40013
    assert api.gettoken(secret="wrong")["errcode"] == 40001
    assert api.http.get("gettoken", params={"corpid": sim.config.corp_id}).json()[
        "errcode"] == 41004


def test_missing_bad_and_expired_tokens(sim, api):
    assert api.http.get("user/get", params={"userid": "emp001"}).json()["errcode"] == 41001
    assert api.http.get("user/get", params={"userid": "emp001",
                                            "access_token": "nope"}).json()["errcode"] == 40014
    assert api.get("user/get", userid="emp001")["errcode"] == 0
    sim.control.expire_tokens()
    assert api.get("user/get", userid="emp001")["errcode"] == 42001
    sim.control.configure(expired_token_errcode=40014)
    assert api.get("user/get", userid="emp001")["errcode"] == 40014
    fresh = api.gettoken()
    assert fresh["access_token"] != api.token
    api.token = fresh["access_token"]
    sim.control.advance_clock(7199)
    assert api.get("user/get", userid="emp001")["errcode"] == 0
    sim.control.advance_clock(2)
    assert api.get("user/get", userid="emp001")["errcode"] == 40014


def test_unknown_api_is_404_with_errcode(api):
    response = api.http.get("externalcontact/no_such_api", params={"access_token": api.token})
    assert response.status_code == 404
    assert response.json()["errcode"] == 48001


def test_app_secret_may_not_call_customer_apis(sim):
    app = Api(sim, secret=sim.config.app_secret)
    assert app.get("externalcontact/get_follow_user_list")["errcode"] == 48002
    assert app.get("user/get", userid="emp001")["errcode"] == 0


def test_minute_limit_answers_45009_then_blocks_the_api():
    with running_simulator(minute_limit=3, minute_block_s=60) as sim:
        api = Api(sim)
        codes = [api.get("user/get", userid="emp001")["errcode"] for _ in range(4)]
        assert codes == [0, 0, 0, 45009]
        assert api.get("department/list")["errcode"] == 0  # limits are per API
        sim.control.advance_clock(30)
        assert api.get("user/get", userid="emp001")["errcode"] == 45009
        sim.control.advance_clock(31)
        assert api.get("user/get", userid="emp001")["errcode"] == 0
        assert sim.control.calls()["per_api"]["user/get"]["errcodes"] == {"0": 4, "45009": 2}


def test_hour_limit_blocks_for_an_hour():
    with running_simulator(hour_limit=2) as sim:
        api = Api(sim)
        assert [api.get("department/list")["errcode"] for _ in range(3)] == [0, 0, 45009]
        sim.control.advance_clock(61)
        assert api.get("department/list")["errcode"] == 45009
        sim.control.advance_clock(3600)
        assert api.get("department/list")["errcode"] == 0


def test_injected_error_bursts_probability_and_timeouts(sim, api):
    sim.control.inject_faults(api="user/get", errcode=-1, count=2)
    codes = [api.get("user/get", userid="emp001")["errcode"] for _ in range(3)]
    assert codes == [-1, -1, 0]
    sim.control.inject_faults(api="*", errcode=45033, probability=1.0)
    assert api.get("department/list")["errcode"] == 45033
    sim.control.clear_faults()
    assert api.get("department/list")["errcode"] == 0
    sim.control.configure(timeout_hang_s=3)
    sim.control.inject_faults(api="department/list", timeout=True)
    with pytest.raises(httpx.ReadTimeout):
        api.http.get("department/list", params={"access_token": api.token}, timeout=0.3)


def test_latency_is_async_so_concurrent_calls_overlap(sim, api):
    sim.control.set_latency(300)
    started = time.monotonic()
    assert api.get("department/list")["errcode"] == 0
    assert time.monotonic() - started >= 0.3
    results = []

    def call():
        with httpx.Client(base_url=sim.base_url) as client:
            results.append(client.get("department/list",
                                      params={"access_token": api.token}).json()["errcode"])

    threads = [threading.Thread(target=call) for _ in range(30)]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [0] * 30
    assert time.monotonic() - started < 3  # 30 × 0.3 s would be 9 s if served one by one


def test_answers_on_a_kept_alive_connection_come_at_once(sim, api):
    # With Nagle's algorithm on the server's connections, every answer waited ~40 ms for the
    # caller's delayed ACK: 20 calls took 0.8 s, and a burst in a demo or a test seconds.
    api.get("department/list")
    started = time.monotonic()
    for _ in range(20):
        assert api.get("department/list")["errcode"] == 0
    assert time.monotonic() - started < 0.4


def test_concurrency_limit_answers_45033(sim, api):
    sim.control.configure(max_concurrency=2, latency_ms=1000)
    results = []

    def call():
        with httpx.Client(base_url=sim.base_url) as client:
            results.append(client.get("department/list",
                                      params={"access_token": api.token}).json()["errcode"])

    threads = [threading.Thread(target=call) for _ in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [0, 0, 45033, 45033, 45033]


def test_customer_reads_have_wecom_shapes(sim, api):
    userid = next(u for u in sim.simulator.state.active_userids()
                  if sim.simulator.state.customers_of(u))
    ext_ids = api.get("externalcontact/list", userid=userid)["external_userid"]
    detail = api.get("externalcontact/get", external_userid=ext_ids[0])
    assert detail["errcode"] == 0
    assert set(detail["external_contact"]) >= {"external_userid", "name", "avatar", "type",
                                               "gender", "unionid"}
    follow = detail["follow_user"][0]
    assert set(follow) >= {"userid", "remark", "description", "createtime", "tags",
                           "remark_mobiles", "add_way", "state", "oper_userid"}
    assert api.get("externalcontact/get", external_userid="wmUNKNOWN")["errcode"] == 84061
    assert api.get("externalcontact/get", external_userid="bogus")["errcode"] == 40096
    assert api.get("user/get", userid="nobody")["errcode"] == 60111
    users = api.get("user/list", department_id=1, fetch_child=1)["userlist"]
    assert {u["userid"] for u in users} == set(sim.simulator.state.users)
    assert api.get("externalcontact/get_follow_user_list")["follow_user"] == \
        sim.simulator.state.active_userids()


def test_batch_get_by_user_pages_with_cursor_and_limit_100(sim, api):
    users = sim.simulator.state.active_userids()[:10]
    expected = sum(len(sim.simulator.state.customers_of(u)) for u in users)
    too_many = api.post("externalcontact/batch/get_by_user",
                        {"userid_list": users, "limit": 101})
    assert too_many["errcode"] == 40058
    seen, cursor = [], ""
    while True:
        page = api.post("externalcontact/batch/get_by_user",
                        {"userid_list": users, "cursor": cursor, "limit": 4})
        assert page["errcode"] == 0 and len(page["external_contact_list"]) <= 4
        seen += [(c["external_contact"]["external_userid"], c["follow_info"]["userid"])
                 for c in page["external_contact_list"]]
        assert all(isinstance(c["follow_info"]["tag_id"], list)
                   for c in page["external_contact_list"])
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert len(seen) == len(set(seen)) == expected


def test_groupchat_list_and_get(sim, api):
    chats = api.post("externalcontact/groupchat/list", {"limit": 2})
    assert chats["errcode"] == 0 and len(chats["group_chat_list"]) == 2 and chats["next_cursor"]
    assert api.post("externalcontact/groupchat/list", {"limit": 1001})["errcode"] == 40058
    chat_id = chats["group_chat_list"][0]["chat_id"]
    group = api.post("externalcontact/groupchat/get", {"chat_id": chat_id, "need_name": 1})
    assert group["group_chat"]["chat_id"] == chat_id
    member = group["group_chat"]["member_list"][0]
    assert set(member) >= {"userid", "type", "join_time", "join_scene", "invitor"}
    assert api.post("externalcontact/groupchat/get", {"chat_id": "wrnope"})["errcode"] == 40050


def test_contact_way_state_limit_and_shapes(sim, api):
    body = {"type": 1, "scene": 2, "user": ["emp002"], "state": "x" * 31}
    assert api.post("externalcontact/add_contact_way", body)["errcode"] == 40058
    assert api.post("externalcontact/add_contact_way", {"scene": 2})["errcode"] == 41037
    assert api.post("externalcontact/add_contact_way",
                    {"type": 1, "scene": 3, "user": ["emp002"]})["errcode"] == 41040
    created = api.post("externalcontact/add_contact_way", dict(body, state="poster_spring"))
    assert created["errcode"] == 0 and created["config_id"] and created["qr_code"]
    way = api.post("externalcontact/get_contact_way", {"config_id": created["config_id"]})
    assert way["contact_way"]["state"] == "poster_spring"
    assert way["contact_way"]["user"] == ["emp002"]
    listed = api.post("externalcontact/list_contact_way", {"limit": 10})
    assert [w["config_id"] for w in listed["contact_way"]] == [created["config_id"]]
    code = sim.control.scan_contact_way(state="poster_spring")
    assert code and code.userid == "emp002" and code.state == "poster_spring"
    assert api.post("externalcontact/get_contact_way", {"config_id": "nope"})["errcode"] == 41044
    assert sim.control.contact_ways()["contact_ways"][0]["config_id"] == created["config_id"]


def test_join_way_takes_at_most_five_chats(sim, api):
    chats = list(sim.simulator.state.chats)
    body = {"scene": 2, "chat_id_list": chats[:4] + chats[:2], "state": "g1"}
    assert api.post("externalcontact/groupchat/add_join_way", body)["errcode"] == 40058
    created = api.post("externalcontact/groupchat/add_join_way", dict(body,
                                                                      chat_id_list=chats[:2]))
    way = api.post("externalcontact/groupchat/get_join_way", {"config_id": created["config_id"]})
    assert way["join_way"]["chat_id_list"] == chats[:2] and way["join_way"]["qr_code"]


def test_welcome_code_valid_20_seconds_and_once(sim, api):
    first = sim.control.add_customer("emp003", state="live")
    assert api.post("externalcontact/send_welcome_msg",
                    {"welcome_code": first, "text": {"content": "x" * 4001}})["errcode"] == 45002
    many = [{"msgtype": "image", "image": {"media_id": f"m{i}"}} for i in range(10)]
    assert api.post("externalcontact/send_welcome_msg",
                    {"welcome_code": first, "attachments": many})["errcode"] == 40058
    # Rejected requests do not use the code up.
    ok = api.post("externalcontact/send_welcome_msg",
                  {"welcome_code": first, "text": {"content": "欢迎"}, "attachments": many[:9]})
    assert ok["errcode"] == 0
    assert api.post("externalcontact/send_welcome_msg",
                    {"welcome_code": first, "text": {"content": "again"}})["errcode"] == 41051
    late = sim.control.add_customer("emp003")
    sim.control.advance_clock(21)
    assert api.post("externalcontact/send_welcome_msg",
                    {"welcome_code": late, "text": {"content": "late"}})["errcode"] == 41051
    assert api.post("externalcontact/send_welcome_msg",
                    {"welcome_code": "never-issued", "text": {"content": "x"}})[
        "errcode"] == 41050
    [message] = sim.control.welcome_messages()
    assert message["external_userid"] == first.external_userid
    assert message["state"] == "live" and message["text"] == "欢迎"
    assert 0 <= message["delay_s"] < 20 and len(message["attachments"]) == 9


def test_mass_message_at_most_once_per_customer_per_day(sim, api):
    one = sim.control.add_customer("emp004")
    two = sim.control.add_customer("emp004")
    body = {"chat_type": "single", "sender": "emp004", "text": {"content": "大促"},
            "external_userid": [one.external_userid]}
    first = api.post("externalcontact/add_msg_template", body)
    assert first["errcode"] == 0 and first["msgid"] and first["fail_list"] == []
    second = api.post("externalcontact/add_msg_template",
                      dict(body, external_userid=[one.external_userid, two.external_userid]))
    assert second["fail_list"] == [one.external_userid]
    assert api.post("externalcontact/add_msg_template", body)["errcode"] == 41048
    attachments = [{"msgtype": "link", "link": {"title": "t", "url": "u"}}] * 10
    assert api.post("externalcontact/add_msg_template",
                    dict(body, attachments=attachments))["errcode"] == 40058
    sim.control.advance_clock(86400)
    api.refresh()
    assert api.post("externalcontact/add_msg_template", body)["fail_list"] == []
    task = api.post("externalcontact/get_groupmsg_task", {"msgid": first["msgid"]})
    assert task["task_list"] == [{"userid": "emp004", "status": 0, "send_time": 0}]
    assert sim.control.confirm_mass_message(first["msgid"]) == 1
    sent = api.post("externalcontact/get_groupmsg_send_result",
                    {"msgid": second["msgid"], "userid": "emp004"})["send_list"]
    assert sorted(r["status"] for r in sent) == [0, 3]


def test_transfer_limits_and_per_customer_errcodes(sim, api):
    st = sim.simulator.state
    ext = sim.control.add_customer("emp005").external_userid
    base = {"handover_userid": "emp005", "takeover_userid": "emp006"}
    over = api.post("externalcontact/transfer_customer",
                    dict(base, external_userid=[ext] * 101))
    assert over["errcode"] == 40058
    stranger = next(e for e in st.customers if "emp005" not in st.follows[e])
    result = api.post("externalcontact/transfer_customer",
                      dict(base, external_userid=[ext, stranger, "bogus"]))
    assert [c["errcode"] for c in result["customer"]] == [0, 40131, 40096]
    same = api.post("externalcontact/transfer_customer",
                    dict(base, takeover_userid="emp005", external_userid=[ext]))
    assert same["customer"][0]["errcode"] == 40130
    pending = api.post("externalcontact/transfer_customer", dict(base, external_userid=[ext]))
    assert pending["customer"][0]["errcode"] == 40129
    assert api.post("externalcontact/transfer_result", base)["customer"][0]["status"] == 2
    sim.control.advance_clock(24 * 3600)
    api.refresh()
    assert api.post("externalcontact/transfer_result", base)["customer"][0]["status"] == 1
    assert set(st.follows[ext]) == {"emp006"}
    back = {"handover_userid": "emp006", "takeover_userid": "emp005", "external_userid": [ext]}
    assert api.post("externalcontact/transfer_customer", back)["customer"][0]["errcode"] == 0
    sim.control.advance_clock(24 * 3600)
    api.refresh()
    third = api.post("externalcontact/transfer_customer", dict(base, external_userid=[ext]))
    assert third["customer"][0]["errcode"] == 40128  # twice in 90 days already
    assert {c["change_type"] for c in sim.control.callbacks()} >= {"del_external_contact",
                                                                   "add_external_contact"}


def test_resigned_transfer_needs_a_resigned_member(sim, api):
    st = sim.simulator.state
    resigned = next(u for u, m in st.users.items() if m["status"] == 5)
    unassigned = api.post("externalcontact/get_unassigned_list", {"page_size": 1000})
    assert unassigned["info"] and {i["handover_userid"] for i in unassigned["info"]} == {resigned}
    ext = unassigned["info"][0]["external_userid"]
    refused = api.post("externalcontact/resigned/transfer_customer", {
        "handover_userid": "emp001", "takeover_userid": "emp002", "external_userid": [ext]})
    assert refused["errcode"] == 40097
    ok = api.post("externalcontact/resigned/transfer_customer", {
        "handover_userid": resigned, "takeover_userid": "emp002", "external_userid": [ext]})
    assert ok["customer"] == [{"external_userid": ext, "errcode": 0}]


def test_corp_tags_and_mark_tag(sim, api):
    assert api.post("externalcontact/add_corp_tag",
                    {"group_name": "渠道", "tag": [{"name": "长" * 31}]})["errcode"] == 40058
    added = api.post("externalcontact/add_corp_tag",
                     {"group_name": "新分组", "tag": [{"name": "甲"}, {"name": "乙"}]})
    group = added["tag_group"]
    assert group["group_name"] == "新分组" and [t["name"] for t in group["tag"]] == ["甲", "乙"]
    again = api.post("externalcontact/add_corp_tag",
                     {"group_id": group["group_id"], "tag": [{"name": "甲"}]})
    assert again["errcode"] == 40071
    first, second = (t["id"] for t in group["tag"])
    assert api.post("externalcontact/edit_corp_tag", {"id": first, "name": "丙"})["errcode"] == 0
    listed = api.post("externalcontact/get_corp_tag_list", {"group_id": [group["group_id"]]})
    assert [t["name"] for t in listed["tag_group"][0]["tag"]] == ["丙", "乙"]
    code = sim.control.add_customer("emp007")
    mark = {"userid": "emp007", "external_userid": code.external_userid, "add_tag": [second]}
    assert api.post("externalcontact/mark_tag", mark)["errcode"] == 0
    assert api.post("externalcontact/mark_tag", dict(mark, add_tag=["etnope"]))[
        "errcode"] == 40068
    tags = api.get("externalcontact/get", external_userid=code.external_userid)[
        "follow_user"][0]["tags"]
    assert tags == [{"group_name": "新分组", "tag_name": "乙", "tag_id": second, "type": 1}]
    assert sim.control.tag_marks()[0]["add_tag"] == [second]
    api.post("externalcontact/del_corp_tag", {"tag_id": [first]})
    api.post("externalcontact/del_corp_tag", {"tag_id": [second]})
    listed = api.post("externalcontact/get_corp_tag_list", {"group_id": [group["group_id"]]})
    assert listed["tag_group"] == []  # the group went with its last tag


def test_moments_group_templates_statistics_tickets_and_login(sim, api):
    job = api.post("externalcontact/add_moment_task", {"text": {"content": "新品"}})
    result = api.get("externalcontact/get_moment_task_result", jobid=job["jobid"])
    assert result["status"] == 3 and result["result"]["moment_id"]
    too_many = [{"msgtype": "link", "link": {}}, {"msgtype": "image", "image": {}}]
    assert api.post("externalcontact/add_moment_task", {"attachments": too_many})[
        "errcode"] == 40058
    template = api.post("externalcontact/group_welcome_template/add",
                        {"text": {"content": "欢迎入群"}})
    got = api.post("externalcontact/group_welcome_template/get",
                   {"template_id": template["template_id"]})
    assert got["text"] == {"content": "欢迎入群"}
    now = int(sim.simulator.clock.now())
    stats = api.post("externalcontact/get_user_behavior_data",
                     {"userid": ["emp001"], "start_time": now - 3 * 86400, "end_time": now})
    assert stats["errcode"] == 0 and len(stats["behavior_data"]) in (3, 4)
    assert api.post("externalcontact/get_user_behavior_data",
                    {"userid": ["emp001"], "start_time": now - 31 * 86400,
                     "end_time": now})["errcode"] == 40058
    ticket = api.get("get_jsapi_ticket")
    assert ticket["expires_in"] == 7200
    assert api.get("user/get", userid="emp001", access_token=ticket["ticket"])["errcode"] == 40014
    assert api.get("ticket/get", type="wrong")["errcode"] == 91040
    code = sim.control.login_code("emp002")
    assert api.get("auth/getuserinfo", code=code)["userid"] == "emp002"
    assert api.get("auth/getuserinfo", code=code)["errcode"] == 40029


class Receiver:
    """A stand-in for Siyu's callback endpoint: records POSTs, answers from a status script."""

    def __init__(self, statuses=()):
        self.statuses = list(statuses)
        self.received: list[dict] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length", 0))
                query = dict(parse_qsl(urlsplit(self.path).query))
                receiver.received.append({"query": query, "body": self.rfile.read(length)})
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/wecom/callback/x/"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()

    def events(self, config) -> list:
        crypto = WeComCrypto(config.callback_token, config.aes_key, config.corp_id)
        return [ElementTree.fromstring(crypto.decrypt_message(
            r["query"]["msg_signature"], r["query"]["timestamp"], r["query"]["nonce"],
            r["body"])) for r in self.received]


@pytest.fixture
def receiver():
    receiver = Receiver()
    yield receiver
    receiver.close()


def test_callbacks_are_encrypted_wecom_events(receiver):
    with running_simulator(callback_url=receiver.url, seed=5) as sim:
        code = sim.control.add_customer("emp001", state="live_1111")
        chat_id = next(iter(sim.simulator.state.chats))
        sim.control.join_group(chat_id, [code.external_userid], member_format="items")
        left = sim.control.quit_group(chat_id, code.external_userid, quit_scene=1,
                                      member_format="csv")
        sim.control.customer_deletes_employee("emp001", code.external_userid)
        sim.control.edit_tags(op="create")
        assert sim.control.wait_callbacks(10)
        add, join, quit_, deleted, tag = receiver.events(sim.config)
    assert {add.findtext(k) for k in ("ToUserName",)} == {sim.config.corp_id}
    assert (add.findtext("FromUserName"), add.findtext("MsgType"), add.findtext("Event")) == \
        ("sys", "event", "change_external_contact")
    assert add.findtext("ChangeType") == "add_external_contact"
    assert (add.findtext("UserID"), add.findtext("ExternalUserID"), add.findtext("State"),
            add.findtext("WelcomeCode")) == ("emp001", code.external_userid, "live_1111", code)
    assert int(add.findtext("CreateTime")) > 0
    assert (join.findtext("ChatId"), join.findtext("UpdateDetail"),
            join.findtext("JoinScene")) == (chat_id, "add_member", "3")
    assert [i.text for i in join.find("MemChangeList").findall("Item")] == \
        [code.external_userid]
    assert (quit_.findtext("UpdateDetail"), quit_.findtext("QuitScene"),
            quit_.findtext("MemChangeCnt")) == ("del_member", "1", "1")
    assert quit_.find("MemChangeList").findall("Item") == []
    assert quit_.findtext("MemChangeList") == code.external_userid == left["members"][0]
    assert deleted.findtext("ChangeType") == "del_follow_user"
    assert (tag.findtext("Event"), tag.findtext("TagType"), tag.findtext("ChangeType")) == \
        ("change_external_tag", "tag", "create")
    assert tag.findtext("Id") in sim.simulator.state.tags


def test_callback_retries_like_wecom_and_records_attempts():
    receiver = Receiver(statuses=[500, 503])
    try:
        with running_simulator(callback_url=receiver.url, callback_retry_delay=0) as sim:
            sim.control.add_customer("emp001")
            sim.control.wait_callbacks(10)
            [record] = sim.control.callbacks()
            assert record["status"] == "delivered"
            assert [a["http_status"] for a in record["attempts"]] == [500, 503, 200]
            receiver.statuses = [500] * 10
            sim.control.add_customer("emp002")
            sim.control.wait_callbacks(10)
            failed = sim.control.callbacks()[0]
            assert failed["status"] == "failed" and len(failed["attempts"]) == 4
    finally:
        receiver.close()


def test_url_verification_and_scripted_actions(receiver):
    class Echo(BaseHTTPRequestHandler):
        def do_GET(self):
            query = dict(parse_qsl(urlsplit(self.path).query))
            config = SimConfig()
            answer = WeComCrypto(config.callback_token, config.aes_key, config.corp_id).verify_url(
                query["msg_signature"], query["timestamp"], query["nonce"], query["echostr"])
            self.send_response(200)
            self.end_headers()
            self.wfile.write(answer.encode())

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Echo)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/cb/"
        with running_simulator(callback_url=url) as sim:
            assert sim.control.verify_callback_url()["ok"] is True
            sim.control.configure(callback_url=receiver.url)  # answers nothing on GET
            assert sim.control.verify_callback_url()["ok"] is False
            group = sim.control.create_group("emp002", name="读书会")
            assert sim.simulator.state.chats[group["chat_id"]]["name"] == "读书会"
            renamed = sim.control.edit_tags(op="create", tag_type="tag_group", name="新组")
            assert sim.simulator.state.tag_groups[renamed["changed"][0]["id"]][
                "group_name"] == "新组"
            results = sim.control.run_script([
                {"action": "add_customer", "userid": "emp001", "state": "s1"},
                {"action": "edit_customer", "userid": "emp001", "remark": "老客户"}])
            assert results[0]["state"] == "s1"
            with pytest.raises(SimulatorError, match="Step 2 failed"):
                sim.control.run_script([{"action": "add_customer"},
                                        {"action": "delete_customer", "userid": "nobody"}])
    finally:
        server.shutdown()
        server.server_close()


def test_callbacks_out_of_order_and_duplicated(receiver):
    with running_simulator(callback_url=receiver.url) as sim:
        sim.control.hold_callbacks()
        first = sim.control.add_customer("emp001")
        second = sim.control.delete_customer("emp001", first.external_userid)
        assert sim.control.release_callbacks(order="reverse") == 2
        sim.control.wait_callbacks(10)
        sim.control.add_customer("emp002", duplicate=True)
        sim.control.wait_callbacks(10)
        events = receiver.events(sim.config)
    assert [e.findtext("ChangeType") for e in events] == [
        "del_external_contact", "add_external_contact", "add_external_contact",
        "add_external_contact"]
    assert events[0].findtext("ExternalUserID") == second["external_userid"]
    assert events[2].findtext("ExternalUserID") == events[3].findtext("ExternalUserID")
    assert events[2].findtext("CreateTime") == events[3].findtext("CreateTime")
    assert receiver.received[2]["query"]["nonce"] != receiver.received[3]["query"]["nonce"]


class FrozenClock(Clock):
    def now(self):
        return 1_700_000_000.0


def test_population_is_deterministic_per_seed():
    def population(seed):
        return Simulator(SimConfig(seed=seed), clock=FrozenClock()).population()

    assert population(11) == population(11)
    assert population(12) != population(11)
    one = Simulator(SimConfig(seed=11))
    assert sorted(one.state.users) == [f"emp{i:03d}" for i in range(1, 31)]


@pytest.mark.django_db
def test_mirror_copies_an_enterprise_from_siyus_database(world):
    from siyu.customers.services import customer_tag
    from siyu.wecom.simulator.mirror import mirror_of

    customer_tag(corp=world.corp, actor=world.admin, customer=world.customers["A1"],
                 tags=[world.tags["vip"]])
    sim = Simulator(SimConfig(corp_id=world.corp.corp_id), mirror=mirror_of(world.corp))
    assert set(sim.state.users) == {e.userid for e in world.employees.values()}
    assert set(sim.state.departments) == {1, 2, 3, 4}
    assert {c.external_userid for c in world.customers.values()} == set(sim.state.customers)
    a1 = world.customers["A1"].external_userid
    [follow] = sim.state.follows[a1].values()
    assert (follow["userid"], follow["state"]) == (world.employees["a"].userid, "channel_a")
    assert [sim.state.tags[t]["name"] for t in follow["tag_ids"]] == ["VIP"]


def test_control_api_refuses_bad_input_clearly(sim):
    with pytest.raises(SimulatorError, match="Unknown simulator settings: nonsense"):
        sim.control.configure(nonsense=1)
    with pytest.raises(SimulatorError, match="Unknown action"):
        sim.control.action("fly")
    with pytest.raises(SimulatorError, match="does not follow"):
        sim.control.delete_customer("emp001", "wmnobody")
    page = httpx.get(f"{sim.root_url}/sim/")
    assert page.status_code == 200 and "WeCom simulator" in page.text


def test_cli_serves_until_stopped(tmp_path):
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen([sys.executable, "-m", "siyu.cli", "wecom", "simulator",
                                "--port", str(port), "--seed", "2", "--customers", "5"],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                state = httpx.get(f"http://127.0.0.1:{port}/sim/state").json()
                break
            except httpx.HTTPError:
                assert time.monotonic() < deadline and process.poll() is None
                time.sleep(0.2)
        assert state["population"]["customers"] == 5
    finally:
        process.terminate()
        process.wait(10)
