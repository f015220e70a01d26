"""Validation of welcome content against WeCom's limits, and placeholder rendering."""

import pytest

from siyu.core.errors import ValidationFailed
from siyu.engagement.welcome import welcome_render, welcome_validate

pytestmark = pytest.mark.usefixtures("in_english")


def errors_of(**kwargs) -> dict:
    kwargs.setdefault("text", "")
    kwargs.setdefault("attachments", [])
    with pytest.raises(ValidationFailed) as caught:
        welcome_validate(**kwargs)
    return caught.value.field_errors


def link(**fields):
    return {"msgtype": "link", "link": {"title": "新人礼", "url": "https://e.com", **fields}}


def test_valid_content_of_every_kind_passes():
    welcome_validate(text="您好 {customer_name}，我是{employee_name}" + "好" * 1300, attachments=[
        {"msgtype": "image", "image": {"media_id": "m1"}},
        {"msgtype": "image", "image": {"pic_url": "https://e.com/a.png"}},
        link(picurl="https://e.com/p.png", desc="说明"),
        {"msgtype": "miniprogram", "miniprogram": {"title": "t", "pic_media_id": "m",
                                                   "appid": "wx1", "page": "/index"}},
        {"msgtype": "video", "video": {"media_id": "v"}},
        {"msgtype": "file", "file": {"media_id": "f"}},
    ])


def test_text_limit_is_in_utf8_bytes():
    welcome_validate(text="好" * 1333, attachments=[])  # 3999 bytes
    [message] = errors_of(text="好" * 1334)["text"]
    assert "4002 bytes" in message and "4000" in message


def test_unknown_placeholder_is_named():
    [message] = errors_of(text="Hi {nickname} and {customer_name}")["text"]
    assert "{nickname}" in message and "{customer_name}" in message


def test_at_most_nine_attachments():
    welcome_validate(text="", attachments=[link()] * 9)
    [message] = errors_of(attachments=[link()] * 10)["attachments"]
    assert "10" in message and "9" in message


@pytest.mark.parametrize(("attachment", "expected"), [
    ({"msgtype": "voice", "voice": {}}, "type must be one of"),
    ({"msgtype": "video"}, "details are missing"),
    ({"msgtype": "video", "video": {}}, "media_id is required"),
    ({"msgtype": "image", "image": {}}, "exactly one of media_id / pic_url"),
    ({"msgtype": "image", "image": {"media_id": "a", "pic_url": "b"}}, "exactly one of"),
    ({"msgtype": "link", "link": {"url": "https://e.com"}}, "title is required"),
    (link(title="标" * 43), "longer than 128 bytes"),
    (link(colour="red"), "unknown field(s) colour"),
    ({"msgtype": "miniprogram", "miniprogram": {"title": "t", "appid": "a", "page": "p"}},
     "pic_media_id is required"),
    ("not a dict", "type must be one of"),
])
def test_bad_attachment_is_explained(attachment, expected):
    messages = errors_of(attachments=[link(), attachment])["attachments"]
    assert any(expected in m and m.startswith("Attachment 2") for m in messages), messages


def test_link_title_of_exactly_128_bytes_is_fine():
    welcome_validate(text="", attachments=[link(title="a" * 2 + "标" * 42)])


def test_rendering_fills_known_placeholders_only():
    assert welcome_render("{customer_name}您好，我是{employee_name}。{x}",
                          customer_name="小王", employee_name="李娜") == "小王您好，我是李娜。{x}"
