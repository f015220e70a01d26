"""The translation catalogs are complete, compiled and in use.

Siyu is Chinese first: every source string is English and must have a zh-Hans translation in
siyu/locale. These tests fail when a string was added without `make messages`, when the zh_Hans
catalog has an untranslated or fuzzy entry or a broken placeholder, when the committed .mo files
were not recompiled after the .po changed, and when a console page still shows English to a
Chinese browser.
"""

import ast
import gettext
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import translation
from django.utils.translation.template import templatize

from siyu.console.navigation import SECTIONS

SIYU = Path(settings.BASE_DIR)
LOCALE = Path(settings.LOCALE_PATHS[0])
ZH_PO = LOCALE / "zh_Hans" / "LC_MESSAGES" / "django.po"
EN_PO = LOCALE / "en" / "LC_MESSAGES" / "django.po"
CHINESE_BROWSER = {"HTTP_ACCEPT_LANGUAGE": "zh-CN,zh;q=0.9,en;q=0.8"}
# Identical in both languages on purpose: product names and acronyms.
SAME_IN_CHINESE = {"SOP", "ID", "EncodingAESKey"}
PLACEHOLDER = re.compile(r"%\(\w+\)[sdif]|%[sdif]|\{\w*\}")
# Directories `make messages` skips (see the Makefile), plus the catalogs themselves.
NOT_EXTRACTED = {"tests", "locale", "migrations", "__pycache__", "static"}


# ---------- reading catalogs without third-party packages ----------

class Entry:
    def __init__(self):
        self.msgctxt = None
        self.msgid = ""
        self.msgid_plural = None
        self.msgstr = {}  # index -> text; a singular entry uses index 0
        self.flags = set()
        self.obsolete = False

    @property
    def key(self):
        return (self.msgctxt, self.msgid, self.msgid_plural)

    @property
    def mo_key(self):
        return self.msgid if self.msgctxt is None else f"{self.msgctxt}\x04{self.msgid}"


def read_po(path: Path) -> list[Entry]:
    """The entries of a .po file: msgctxt, msgid(_plural), msgstr[n], flags, obsolete."""
    entries, entry, field = [], Entry(), None

    def finish():
        nonlocal entry, field
        if field is not None:
            entries.append(entry)
        entry, field = Entry(), None

    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line:
            finish()
            continue
        if line.startswith("#~"):
            entry.obsolete = True
            continue
        if line.startswith("#,"):
            entry.flags |= {flag.strip() for flag in line[2:].split(",")}
            continue
        if line.startswith("#"):
            continue
        keyword, _, rest = line.partition(" ")
        if line.startswith('"'):
            keyword, rest = None, line
        elif entry.msgstr and keyword in ("msgctxt", "msgid"):
            finish()  # a new entry without a blank line before it
        text = ast.literal_eval(rest)
        if keyword is not None:
            field = keyword
            if field == "msgstr":
                entry.msgstr[0] = ""
            elif field.startswith("msgstr["):
                entry.msgstr[int(field[7:-1])] = ""
            elif field == "msgctxt":
                entry.msgctxt = ""
            elif field == "msgid_plural":
                entry.msgid_plural = ""
        if field == "msgid":
            entry.msgid += text
        elif field == "msgctxt":
            entry.msgctxt += text
        elif field == "msgid_plural":
            entry.msgid_plural += text
        elif field == "msgstr":
            entry.msgstr[0] += text
        else:
            entry.msgstr[int(field[7:-1])] += text
    finish()
    return [e for e in entries if not e.obsolete]


def messages(path: Path) -> list[Entry]:
    return [e for e in read_po(path) if e.msgid]


def header(path: Path) -> Entry:
    return next(e for e in read_po(path) if e.msgid == "")


# ---------- what the source code asks to translate ----------

PY_FUNCTIONS = {
    # name -> (index of msgctxt or None, index of msgid, index of msgid_plural or None)
    "_": (None, 0, None), "gettext": (None, 0, None), "gettext_lazy": (None, 0, None),
    "gettext_noop": (None, 0, None), "ngettext": (None, 0, 1), "ngettext_lazy": (None, 0, 1),
    "pgettext": (0, 1, None), "pgettext_lazy": (0, 1, None), "npgettext": (0, 1, 2),
    "npgettext_lazy": (0, 1, 2),
}


STRING = r"""u?(?:'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*")"""


def python_strings(path: Path):
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
        if name not in PY_FUNCTIONS:
            continue
        positions = PY_FUNCTIONS[name]
        args = node.args
        if any(i is not None and (i >= len(args) or not isinstance(args[i], ast.Constant)
                                  or not isinstance(args[i].value, str)) for i in positions):
            continue  # a variable, not a literal: nothing to extract
        ctxt, msgid, plural = (None if i is None else args[i].value for i in positions)
        yield (ctxt, msgid, plural), f"{path.relative_to(SIYU.parent)}:{node.lineno}"


TEMPLATE_CALL = re.compile(r"\b(n?p?gettext)\(((?:%s)(?:,\s*(?:%s))*)" % ((STRING,) * 2))


def template_strings(path: Path):
    """Django's own template-to-gettext conversion (what makemessages feeds xgettext): string
    literals are written as Python reprs, everything else is masked."""
    source = templatize(path.read_text(encoding="utf-8"), origin=str(path))
    for match in TEMPLATE_CALL.finditer(source):
        literals = [ast.literal_eval(lit) for lit in re.findall(STRING, match.group(2))]
        positions = PY_FUNCTIONS[match.group(1)]
        ctxt, msgid, plural = (None if i is None else literals[i] for i in positions)
        yield (ctxt, msgid, plural), str(path.relative_to(SIYU.parent))


def source_files(pattern: str):
    for path in sorted(SIYU.rglob(pattern)):
        if not NOT_EXTRACTED & set(path.relative_to(SIYU).parts[:-1]):
            yield path


def source_strings() -> dict:
    found = {}
    for path in source_files("*.py"):
        for key, where in python_strings(path):
            found.setdefault(key, where)
    for path in source_files("*.html"):
        for key, where in template_strings(path):
            found.setdefault(key, where)
    return found


# ---------- the catalogs ----------

def test_source_scanner_sees_the_strings_it_should():
    # Guards the scanner below: if it found nothing, "nothing is missing" would prove nothing.
    found = source_strings()
    assert (None, "Customer list", None) in found  # gettext_lazy in navigation.py
    assert (None, "Sign in", None) in found  # {% translate %} in login.html
    assert (None, "%(counter)s customer", "%(counter)s customers") in found  # blocktranslate
    assert ("follow relation", "Active", None) in found  # {% translate ... context ... %}
    assert len(found) > 300


def test_every_source_string_is_in_the_catalogs():
    catalog = {e.key for e in messages(ZH_PO)}
    missing = [f"{where}: {key[1]!r}" + (f" (context {key[0]!r})" if key[0] else "")
               for key, where in source_strings().items() if key not in catalog]
    assert not missing, "Run `make messages` and translate:\n" + "\n".join(missing)
    assert {e.key for e in messages(EN_PO)} == catalog, "zh_Hans and en were not refreshed together"


def test_every_chinese_message_is_translated_and_checked():
    assert "fuzzy" not in header(ZH_PO).flags
    untranslated, fuzzy = [], []
    for entry in messages(ZH_PO):
        if "fuzzy" in entry.flags:
            fuzzy.append(entry.msgid)
        if not entry.msgstr or not all(entry.msgstr.values()):
            untranslated.append(entry.msgid)
    assert not untranslated, "Untranslated in zh_Hans:\n" + "\n".join(untranslated)
    assert not fuzzy, "Fuzzy (check, then remove the flag) in zh_Hans:\n" + "\n".join(fuzzy)


def test_chinese_translations_keep_placeholders_and_plural_forms():
    assert "Plural-Forms: nplurals=1; plural=0;" in header(ZH_PO).msgstr[0]
    for entry in messages(ZH_PO):
        source = set(PLACEHOLDER.findall(entry.msgid))
        if entry.msgid_plural is not None:
            assert set(entry.msgstr) == {0}, f"zh has one plural form: {entry.msgid!r}"
            source |= set(PLACEHOLDER.findall(entry.msgid_plural))
        for text in entry.msgstr.values():
            assert set(PLACEHOLDER.findall(text)) == source, (entry.msgid, text)
            if entry.msgid not in SAME_IN_CHINESE:
                assert text != entry.msgid, f"left in English: {entry.msgid!r}"


def test_english_catalog_is_the_source_language():
    assert "fuzzy" not in header(EN_PO).flags
    assert "Plural-Forms: nplurals=2; plural=(n != 1);" in header(EN_PO).msgstr[0]
    translated = [e.msgid for e in messages(EN_PO) if any(e.msgstr.values())]
    assert not translated, "English is the source; leave msgstr empty"


@pytest.mark.parametrize("po", [ZH_PO, EN_PO], ids=["zh_Hans", "en"])
def test_compiled_catalog_matches_its_po(po):
    # Compares content, not file times: a git checkout gives both files the same arbitrary time.
    with open(po.with_suffix(".mo"), "rb") as mo_file:
        mo = gettext.GNUTranslations(mo_file)
    expected = {}
    for entry in messages(po):
        if "fuzzy" in entry.flags or not all(entry.msgstr.values()):
            continue  # msgfmt leaves these out
        if entry.msgid_plural is None:
            expected[entry.mo_key] = entry.msgstr[0]
        else:
            for index, text in entry.msgstr.items():
                expected[(entry.mo_key, index)] = text
    compiled = {key: text for key, text in mo._catalog.items() if key != ""}
    assert compiled == expected, f"{po.with_suffix('.mo')} is stale: run `make messages`"
    assert mo.info().get("plural-forms") == header(po).msgstr[0].split(
        "Plural-Forms: ")[1].split("\n")[0]


def test_django_serves_the_chinese_catalog():
    with translation.override("zh-hans"):
        assert translation.gettext("Customers") == "客户"
        assert translation.ngettext("%(n)s tag", "%(n)s tags", 5) == "%(n)s 个标签"
        assert translation.pgettext("Task", "Successful") == "成功"
    with translation.override("en"):
        assert translation.gettext("Customers") == "Customers"


def test_navigation_is_chinese():
    with translation.override("zh-hans"):
        for section in SECTIONS:
            assert re.search(r"[\u4e00-\u9fff]", str(section.label)), section.key
            for area in section.areas:
                assert str(area.label) in SAME_IN_CHINESE or re.search(
                    r"[\u4e00-\u9fff]", str(area.label)), area.slug
                assert re.search(r"[\u4e00-\u9fff]", str(area.summary)), area.slug


# ---------- what a Chinese browser sees ----------

class VisibleText(HTMLParser):
    """Text nodes and the attributes people read (title, placeholder, aria-label, confirms)."""

    SHOWN_ATTRIBUTES = {"title", "placeholder", "aria-label", "alt", "hx-confirm",
                        "data-msg-request-failed", "data-msg-network-failed"}

    def __init__(self):
        super().__init__()
        self.texts, self._skip = [], 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self._skip += 1
        self.texts += [v.strip() for k, v in attrs if k in self.SHOWN_ATTRIBUTES and v]

    def handle_endtag(self, tag):
        if tag in ("script", "style"):
            self._skip -= 1

    def handle_data(self, data):
        if not self._skip and data.strip():
            self.texts.append(data.strip())


def visible_texts(html: str) -> list[str]:
    parser = VisibleText()
    parser.feed(html)
    return parser.texts


# UI strings of the pages below; any of them on a zh page means a string escaped translation.
KNOWN_ENGLISH = [
    "Sign in", "Username", "Password", "Overview", "Customers", "Customer list", "Tags",
    "Employees", "Departments", "Audit log", "Background jobs", "Sign out", "Soon", "Filter",
    "Clear", "Search", "Owners", "Phones", "Channel state", "Added", "Export CSV", "Previous",
    "Next", "Any tag", "Profile", "Timeline", "Add tag", "Add note", "Status", "Active",
    "Remark", "Description", "Type", "Gender", "Birthday", "Company", "Region", "system",
    "Workers", "Failed jobs", "Waiting to run", "Running", "Succeeded", "Failed", "Who", "What",
    "When", "Object", "Position", "Department tree", "not available yet", "Requirement",
    "Back to the overview", "New tag group", "Create group", "Acquisition", "Engagement",
]


def page_urls(world):
    return {
        "overview": reverse("console:home"),
        "customer list": reverse("customers:list"),
        "customer detail": reverse("customers:detail", args=[world.customers["A1"].pk]),
        "tags": reverse("tags:list"),
        "employees": reverse("accounts:employees"),
        "departments": reverse("accounts:departments"),
        "audit log": reverse("console:audit"),
        "jobs": reverse("console:jobs"),
        "area not built": reverse("console:area", args=["fission"]),
        "welcome messages": reverse("engagement:welcome"),
        "live codes": reverse("acquisition:live_codes"),
        "new live code": reverse("acquisition:live_code_create"),
        "live code statistics": reverse("acquisition:live_codes_stats"),
        "group codes": reverse("acquisition:group_codes"),
        "new group code": reverse("acquisition:group_code_create"),
        "store codes": reverse("acquisition:store_codes"),
        "new store code": reverse("acquisition:store_code_create"),
    }


def assert_chinese(html: str, page: str):
    english = {e.msgid: e.msgstr[0] for e in messages(ZH_PO)}
    texts = visible_texts(html)
    joined = "\n".join(texts)
    # The language switch names each language in itself, so "English" stays English.
    leftovers = [t for t in texts if t in english and english[t] != t and t != "English"]
    leftovers += [w for w in KNOWN_ENGLISH if re.search(rf"(?<![\w-]){re.escape(w)}(?![\w-])",
                                                          joined)]
    assert not leftovers, f"English on the Chinese {page} page: {sorted(set(leftovers))}"
    assert '<html lang="zh-hans">' in html


def test_login_page_is_chinese(client, db):
    html = client.get(reverse("console:login"), **CHINESE_BROWSER).content.decode()
    assert_chinese(html, "login")
    assert "登录" in html and "用户名" in html and "密码" in html


def test_console_pages_are_chinese(client, world):
    from siyu.acquisition.models import LiveCode, LiveCodeMember

    code = LiveCode.objects.create(corp=world.corp, name="双11直播", state="lc_i18n",
                                   qr_code="https://wework.qpic.cn/qr.png")
    LiveCodeMember.objects.create(corp=world.corp, live_code=code,
                                  employee=world.employees["a"], daily_cap=20)
    pages = page_urls(world) | {
        "live code": reverse("acquisition:live_code_detail", args=[code.pk]),
        "live code edit": reverse("acquisition:live_code_edit", args=[code.pk]),
        "live code poster": reverse("acquisition:live_code_poster", args=[code.pk]),
        "live code stats": reverse("acquisition:live_code_stats", args=[code.pk]),
    }
    client.force_login(world.admin)
    for name, url in pages.items():
        response = client.get(url, **CHINESE_BROWSER)
        assert response.status_code == 200, name
        html = response.content.decode()
        assert_chinese(html, name)
        if name != "live code poster":  # a print page, without the console's navigation
            assert "客户" in html, name  # the navigation's first section


def test_chinese_customer_list_uses_scrm_terms(client, world):
    client.force_login(world.admin)
    html = client.get(reverse("customers:list"), **CHINESE_BROWSER).content.decode()
    for term in ("客户列表", "标签", "跟进员工", "添加时间", "来源渠道", "渠道活码", "群活码",
                 "欢迎语", "审计日志", "后台任务"):
        assert term in html, term


def test_english_switch_still_works(client, world):
    client.force_login(world.admin)
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    html = client.get(reverse("customers:list"), **CHINESE_BROWSER).content.decode()
    assert '<html lang="en">' in html
    assert "Customer list" in html and "客户列表" not in html
