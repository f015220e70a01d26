"""The welcome editor's fields parsed back into WeCom attachments (welcome_from_post), and the
editor template rendered from attachments then posted back unchanged."""

from html.parser import HTMLParser

import pytest
from django.template.loader import render_to_string

from siyu.engagement.welcome_editor import WelcomeFormInvalid, welcome_from_post

EVERY_KIND = [
    {"msgtype": "image", "image": {"media_id": "MEDIA_1"}},
    {"msgtype": "image", "image": {"pic_url": "https://e.com/a.png"}},
    {"msgtype": "link", "link": {"title": "新人礼", "url": "https://e.com/gift",
                                 "picurl": "https://e.com/p.png", "desc": "第一行\n第二行"}},
    {"msgtype": "link", "link": {"title": "只有标题和链接", "url": "https://e.com"}},
    {"msgtype": "miniprogram", "miniprogram": {"title": "小程序", "pic_media_id": "PIC",
                                               "appid": "wx123", "page": "pages/index"}},
    {"msgtype": "video", "video": {"media_id": "VIDEO"}},
    {"msgtype": "file", "file": {"media_id": "FILE"}},
]


pytestmark = pytest.mark.usefixtures("in_english")


class FormFields(HTMLParser):
    """What a browser would post: enabled inputs, textareas and selects' chosen options,
    outside <template> (the blank row new attachments are cloned from)."""

    def __init__(self):
        super().__init__()
        self.data, self._in_template, self._textarea, self._select = {}, 0, None, None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "template":
            self._in_template += 1
        if self._in_template or "disabled" in attrs:
            return
        if tag == "input" and attrs.get("name"):
            self.data[attrs["name"]] = attrs.get("value") or ""
        elif tag == "textarea" and attrs.get("name"):
            self._textarea = attrs["name"]
            self.data[self._textarea] = ""
        elif tag == "select":
            self._select = attrs.get("name")
        elif tag == "option" and self._select and "selected" in attrs:
            self.data[self._select] = attrs.get("value") or ""

    def handle_endtag(self, tag):
        if tag == "template":
            self._in_template -= 1
        elif tag == "textarea":
            self._textarea = None
        elif tag == "select":
            self._select = None

    def handle_data(self, data):
        if self._textarea:
            self.data[self._textarea] += data


def render_editor(**context) -> str:
    context.setdefault("prefix", "welcome")
    return render_to_string("engagement/_welcome_editor.html", context)


def posted(html: str) -> dict:
    parser = FormFields()
    parser.feed(html)
    return parser.data


def row(number, msgtype, prefix="welcome", **fields):
    data = {f"{prefix}-attachments-{number}-msgtype": msgtype}
    data.update({f"{prefix}-attachments-{number}-{key}": value
                 for key, value in fields.items()})
    return data


def test_every_kind_round_trips_through_the_editor():
    text = "您好 {customer_name}，我是{employee_name}\n欢迎 <b>&"
    html = render_editor(text=text, attachments=EVERY_KIND)
    assert welcome_from_post(posted(html)) == (text, EVERY_KIND)


def test_another_prefix_round_trips_and_ignores_other_fields():
    html = render_editor(prefix="code", text="hi", attachments=EVERY_KIND[:2])
    data = posted(html) | row(0, "video", prefix="welcome", media_id="not mine")
    assert welcome_from_post(data, prefix="code") == ("hi", EVERY_KIND[:2])


def test_empty_editor_gives_empty_content():
    assert welcome_from_post(posted(render_editor())) == ("", [])
    assert welcome_from_post({}) == ("", [])


def test_fields_of_each_kind_are_rebuilt_in_wecom_shape():
    data = {"welcome-text": "a\r\nb"}
    data |= row(0, "link", title=" 标题 ", url="https://e.com", desc="", picurl="")
    data |= row(1, "image", pic_url="https://e.com/a.png", media_id="")
    data |= row(2, "miniprogram", title="t", pic_media_id="p", appid="wx", page="pages/a")
    data |= row(3, "video", media_id="v", title="left over from another kind")
    data |= row(4, "file", media_id="f")
    assert welcome_from_post(data) == ("a\nb", [
        {"msgtype": "link", "link": {"title": "标题", "url": "https://e.com"}},
        {"msgtype": "image", "image": {"pic_url": "https://e.com/a.png"}},
        {"msgtype": "miniprogram", "miniprogram": {"title": "t", "pic_media_id": "p",
                                                   "appid": "wx", "page": "pages/a"}},
        {"msgtype": "video", "video": {"media_id": "v"}},
        {"msgtype": "file", "file": {"media_id": "f"}},
    ])


def test_gaps_in_numbering_keep_numeric_order_and_skip_blank_rows():
    data = row(10, "file", media_id="third") | row(2, "video", media_id="second")
    data |= row(0, "image", media_id="first") | row(5, "", title="") | row(7, "")
    _text, attachments = welcome_from_post(data)
    assert [a[a["msgtype"]]["media_id"] for a in attachments] == ["first", "second", "third"]


def errors_of(data, prefix="welcome") -> dict:
    with pytest.raises(WelcomeFormInvalid) as caught:
        welcome_from_post(data, prefix=prefix)
    return caught.value.field_errors


@pytest.mark.parametrize(("fields", "field", "expected"), [
    (row(0, "link", url="https://e.com"), "welcome-attachments-0-title",
     "Attachment 1 (link): title is required; fill it in."),
    (row(0, "link", title="t"), "welcome-attachments-0-url", "url is required"),
    (row(0, "link", title="标" * 43, url="u"), "welcome-attachments-0-title", "128 bytes"),
    (row(0, "miniprogram", title="t", appid="a", page="p"),
     "welcome-attachments-0-pic_media_id", "pic_media_id is required"),
    (row(0, "video"), "welcome-attachments-0-media_id", "media_id is required"),
    (row(0, "file", media_id=" "), "welcome-attachments-0-media_id", "media_id is required"),
    (row(0, "image"), "welcome-attachments-0", "exactly one of media_id / pic_url"),
    (row(0, "image", media_id="m", pic_url="u"), "welcome-attachments-0", "leave the other"),
    (row(0, "voice", media_id="m"), "welcome-attachments-0-msgtype", "type must be one of"),
    (row(0, "", title="typed but no type"), "welcome-attachments-0-msgtype",
     "type must be one of"),
])
def test_bad_attachment_is_named_by_number_and_field(fields, field, expected):
    errors = errors_of(fields)
    assert any(expected in message for message in errors[field]), errors


def test_errors_use_the_position_shown_not_the_posted_number():
    data = row(3, "image", media_id="ok") | row(8, "link", url="https://e.com")
    errors = errors_of(data)
    assert list(errors) == ["welcome-attachments-1-title"]
    assert errors["welcome-attachments-1-title"][0].startswith("Attachment 2 (link)")


def test_more_than_nine_attachments_is_refused():
    data = {}
    for number in range(10):
        data |= row(number, "video", media_id=f"v{number}")
    errors = errors_of(data)
    assert list(errors) == ["welcome-attachments"]
    assert "10 attachments" in errors["welcome-attachments"][0]
    nine = {k: v for k, v in data.items() if not k.startswith("welcome-attachments-9-")}
    assert len(welcome_from_post(nine)[1]) == 9


def test_text_errors_are_under_the_text_field():
    errors = errors_of({"code-text": "{nickname} " + "好" * 1334}, prefix="code")
    [unknown, size] = sorted(errors["code-text"], key=len)
    assert "{nickname}" in unknown and "bytes" in size


def test_failed_parse_carries_what_was_typed_and_the_editor_shows_it_in_place():
    data = {"welcome-text": "hi"} | row(0, "image", media_id="m") | row(1, "link", url="u1")
    with pytest.raises(WelcomeFormInvalid) as caught:
        welcome_from_post(data)
    failed = caught.value
    assert failed.text == "hi"
    assert failed.attachments[1] == {"msgtype": "link", "link": {"url": "u1"}}
    html = render_editor(text=failed.text, attachments=failed.attachments,
                         errors=failed.field_errors)
    title_field = html.split('for="welcome-attachments-1-title"')[1].split("</div>\n")[0]
    assert "title is required" in title_field
    assert 'value="u1"' in html
    assert posted(html)["welcome-attachments-1-url"] == "u1"


def test_editor_shows_errors_handed_over_under_a_live_codes_names():
    html = render_editor(text="x", attachments=[], errors={
        "welcome_text": ["text problem"], "welcome_attachments": ["list problem"]})
    assert "text problem" in html and "list problem" in html


def test_editor_counts_bytes_and_offers_placeholders_and_kinds():
    html = render_editor(text="好好", attachments=EVERY_KIND[:1])
    assert "<span data-welcome-bytes>6</span> / 4000 bytes" in html
    assert 'data-welcome-insert="{customer_name}"' in html
    assert 'data-welcome-insert="{employee_name}"' in html
    for kind in ("image", "link", "miniprogram", "video", "file"):
        assert f'data-welcome-add="{kind}"' in html
    full = render_editor(attachments=[EVERY_KIND[0]] * 9)
    assert full.count("disabled>+ ") == 5
