"""QR code images: the simulator serves a real PNG for a contact way's ``qr_code`` that encodes
its /sim/scan/ URL (opening it scans), and ``qr_image_fetch`` fetches such images with a host
allow-list, a size limit and a timeout, failing with a message the operator can act on."""

import io

import httpx
import pytest
import segno

from siyu.accounts.tests.factories import CorpFactory
from siyu.wecom.qr import MAX_BYTES, QrImageUnavailable, qr_image_fetch
from siyu.wecom.simulator.testing import running_simulator

pytestmark = pytest.mark.usefixtures("in_english")

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def sim():
    with running_simulator(seed=11, employees=3, customers=0, groups=1) as running:
        yield running


def _add_way(sim) -> dict:
    api = httpx.Client(base_url=sim.base_url, timeout=10)
    token = api.get("gettoken", params={"corpid": sim.config.corp_id,
                                        "corpsecret": sim.config.contact_secret}
                    ).json()["access_token"]
    userid = sim.control.population()["users"][0]["userid"]
    answer = api.post("externalcontact/add_contact_way", params={"access_token": token},
                      json={"type": 2, "scene": 2, "state": "lc_qrtest", "user": [userid]}
                      ).json()
    api.close()
    assert answer["errcode"] == 0, answer
    return answer


def _expected_png(url: str) -> bytes:
    out = io.BytesIO()
    segno.make(url, error="m", micro=False).save(out, kind="png", scale=8, border=4)
    return out.getvalue()


def test_simulator_qr_code_is_a_png_of_the_scan_url(sim):
    way = _add_way(sim)
    response = httpx.get(way["qr_code"])
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/png"
    assert response.content.startswith(PNG_MAGIC)
    assert response.content == _expected_png(f"{sim.root_url}/sim/scan/{way['config_id']}")


def test_opening_the_scan_url_adds_a_customer_with_the_state(sim):
    way = _add_way(sim)
    before = len(sim.control.callbacks(limit=2000))
    result = httpx.get(f"{sim.root_url}/sim/scan/{way['config_id']}",
                       params={"format": "json"}).json()
    assert result["kind"] == "contact_way" and result["state"] == "lc_qrtest"
    assert result["welcome_code"]
    page = httpx.get(f"{sim.root_url}/sim/scan/{way['config_id']}")
    assert page.status_code == 200 and "added" in page.text
    records = sim.control.callbacks(limit=2000)
    assert len(records) == before + 2
    assert all(r["change_type"] == "add_external_contact" for r in records[:2])


def test_scanning_a_join_way_puts_a_customer_into_its_group(sim):
    api = httpx.Client(base_url=sim.base_url, timeout=10)
    token = api.get("gettoken", params={"corpid": sim.config.corp_id,
                                        "corpsecret": sim.config.contact_secret}
                    ).json()["access_token"]
    chat_id = next(iter(sim.simulator.state.chats))
    added = api.post("externalcontact/groupchat/add_join_way", params={"access_token": token},
                     json={"scene": 2, "chat_id_list": [chat_id], "state": "gc_qrtest"}).json()
    api.close()
    assert added["errcode"] == 0, added
    way = sim.simulator.state.join_ways[added["config_id"]]
    image = httpx.get(way["qr_code"])
    assert image.content == _expected_png(f"{sim.root_url}/sim/scan/{added['config_id']}")
    result = httpx.get(f"{sim.root_url}/sim/scan/{added['config_id']}",
                       params={"format": "json"}).json()
    assert result["kind"] == "join_way" and result["chat_id"] == chat_id


def test_unknown_way_is_404_for_the_image_and_400_for_a_scan(sim):
    assert httpx.get(f"{sim.root_url}/sim/qr/nope").status_code == 404
    assert httpx.get(f"{sim.root_url}/sim/scan/nope").status_code == 400
    way_page = httpx.get(f"{sim.root_url}/sim/ways/nope")
    assert "No contact way" in way_page.text


def test_way_page_shows_the_image_and_a_scan_button(sim):
    way = _add_way(sim)
    page = httpx.get(f"{sim.root_url}/sim/ways/{way['config_id']}").text
    assert f'src="/sim/qr/{way["config_id"]}"' in page
    assert f'action="/sim/scan/{way["config_id"]}"' in page


@pytest.mark.django_db
def test_fetch_returns_the_simulator_png(sim):
    corp = CorpFactory(api_base_url=sim.base_url)
    way = _add_way(sim)
    assert qr_image_fetch(corp, way["qr_code"]).startswith(PNG_MAGIC)


def _corp(base="https://qyapi.weixin.qq.com/cgi-bin/"):
    return CorpFactory.build(api_base_url=base)


def _transport(handler):
    return httpx.MockTransport(handler)


def _png(request):
    return httpx.Response(200, headers={"content-type": "image/png"}, content=PNG_MAGIC + b"x")


def test_fetch_accepts_wecom_image_hosts():
    url = "https://wework.qpic.cn/wwpic/123/0"
    assert qr_image_fetch(_corp(), url, transport=_transport(_png)) == PNG_MAGIC + b"x"


@pytest.mark.parametrize("url", [
    "http://wework.qpic.cn/wwpic/1/0",          # WeCom's CDN is https
    "https://169.254.169.254/latest/meta-data",  # not WeCom, not the corp's API host
    "https://qpic.cn.evil.test/x.png",
    "file:///etc/passwd",
    "http://127.0.0.1:9/cgi-bin/",               # another port than the corp's API host
])
def test_fetch_refuses_addresses_that_are_not_wecom(url):
    def never(request):
        raise AssertionError(f"fetched {request.url}")
    corp = _corp("http://127.0.0.1:8900/cgi-bin/")
    with pytest.raises(QrImageUnavailable, match="not a WeCom address"):
        qr_image_fetch(corp, url, transport=_transport(never))


def test_fetch_without_a_url_says_wecom_gave_none():
    with pytest.raises(QrImageUnavailable, match="has not given this code a QR image"):
        qr_image_fetch(_corp(), "")


@pytest.mark.parametrize(("response", "message"), [
    (httpx.Response(404), "HTTP 404"),
    (httpx.Response(200, headers={"content-type": "text/html"}, content=b"<html>"),
     "did not answer with an image"),
    (httpx.Response(200, headers={"content-type": "image/png"}, content=b""), "empty"),
    (httpx.Response(200, headers={"content-type": "image/png"},
                    content=b"x" * (MAX_BYTES + 1)), "larger than expected"),
])
def test_fetch_rejects_answers_that_are_not_a_qr_image(response, message):
    with pytest.raises(QrImageUnavailable, match=message):
        qr_image_fetch(_corp(), "https://wework.qpic.cn/q", transport=_transport(
            lambda request: response))


def test_fetch_stops_reading_past_the_limit_without_a_content_length():
    def streamed(request):
        chunks = (b"x" * 65536 for _ in range(MAX_BYTES // 65536 + 2))
        return httpx.Response(200, headers={"content-type": "image/png"},
                              content=chunks)
    with pytest.raises(QrImageUnavailable, match="larger than expected"):
        qr_image_fetch(_corp(), "https://wework.qpic.cn/q", transport=_transport(streamed))


def test_fetch_timeout_and_network_errors_are_explained():
    def slow(request):
        raise httpx.ReadTimeout("slow", request=request)

    def down(request):
        raise httpx.ConnectError("refused", request=request)
    with pytest.raises(QrImageUnavailable, match="in time"):
        qr_image_fetch(_corp(), "https://wework.qpic.cn/q", transport=_transport(slow))
    with pytest.raises(QrImageUnavailable, match="could not be fetched"):
        qr_image_fetch(_corp(), "https://wework.qpic.cn/q", transport=_transport(down))
