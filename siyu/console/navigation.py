"""The console's sidebar, declared once.

Every product area of requirements.md is listed here with its requirement ID and one sentence
saying what it does. An area whose page exists names its URL; the name is resolved on each
request, and while it does not resolve (the page is not built yet) the item links to the area's
"not available yet" page instead, so the sidebar never holds a dead link.
"""

from dataclasses import dataclass

from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class Area:
    slug: str
    label: str
    requirement: str
    summary: str
    url_name: str = ""
    # A name from siyu.accounts.roles.PERMISSIONS; empty = every user of an enterprise.
    permission: str = ""


@dataclass(frozen=True)
class Section:
    key: str
    label: str
    icon: str
    areas: tuple[Area, ...]


SECTIONS: tuple[Section, ...] = (
    Section("customers", _("Customers"), "users", (
        Area("customers", _("Customer list"), "A1",
             _("Every customer's full profile: identity, source channel, owners, tags, remarks, "
               "custom fields, purchases and the interaction timeline."),
             "customers:list", "customers.view"),
        Area("tags", _("Tags"), "A3",
             _("Tag groups and tags, set by hand or by rules and kept in sync with WeCom corp "
               "tags."),
             "tags:list", "tags.view"),
        Area("groups", _("Customer groups"), "E2",
             _("Customer groups with their owners and members, and who joined or left when."),
             "groups:list", "groups.view"),
    )),
    Section("acquisition", _("Acquisition"), "qrcode", (
        Area("channel-codes", _("Channel live codes"), "B2",
             _("One QR code that rotates over one or more employees (random, round-robin, by "
               "time slot, with daily caps and a backup employee), accepts friend requests "
               "automatically, sends its own welcome message, tags new customers and attributes "
               "every customer to the code."),
             "acquisition:live_codes", "acquisition.view"),
        Area("group-codes", _("Group live codes"), "B3",
             _("One QR code over several customer groups that moves on to the next group when "
               "one is full."),
             "acquisition:group_codes", "acquisition.view"),
        Area("store-codes", _("Store live codes"), "B4",
             _("A QR code that matches each customer to the nearest store's employee or group by "
               "location."),
             "acquisition:store_codes", "acquisition.view"),
        Area("fission", _("Friend fission"), "B5",
             _("Customers invite friends with a personal poster; rewards at a number of "
               "genuinely new invites, a leaderboard, and deletions revoke the credit.")),
        Area("leads", _("Leads"), "B6",
             _("Leads captured from forms and ads are de-duplicated, assigned automatically, "
               "followed up and converted into customers.")),
    )),
    Section("engagement", _("Engagement"), "megaphone", (
        Area("welcome", _("Welcome messages"), "C1",
             _("Welcome messages with attachments per employee, department or channel code, "
               "sent within the 20 seconds WeCom allows after a customer is added."),
             "engagement:welcome", "engagement.manage"),
        Area("sop", _("SOP"), "C2",
             _("Rules that schedule content for customers and groups (day 0, day 3, day 7 after "
               "adding, or when a tag is set) and remind employees to send it, with completion "
               "tracked.")),
        Area("mass-messaging", _("Mass messaging"), "C5",
             _("Pick a segment and the content goes to the employees who own those customers; "
               "they confirm, WeCom's frequency limits are checked before sending and delivery "
               "results are collected.")),
        Area("moments", _("Moments"), "C4",
             _("Content pushed to employees to post on Moments, visible by tag, with completion "
               "tracked.")),
        Area("scripts", _("Sidebar scripts"), "C6",
             _("The chat sidebar in WeCom: customer profile, tags, orders, follow-up notes and a "
               "script library with one-click send.")),
        Area("auto-reply", _("Auto-reply"), "C7",
             _("Quick replies and keyword-triggered automatic replies.")),
        Area("care", _("Customer care"), "C8",
             _("Birthday and holiday greetings, member benefits and coupons.")),
        Area("campaigns", _("Campaigns"), "C9",
             _("Content targeted by segment with tracked links, measuring clicks, conversions "
               "and revenue.")),
    )),
    Section("sales", _("Sales"), "briefcase", (
        Area("pipeline", _("Pipeline"), "D1",
             _("Leads become opportunities that move through stages, with follow-up records, "
               "tasks and reminders.")),
        Area("orders", _("Contracts & orders"), "D2",
             _("Contracts with approval, orders, invoices and receivables reminders.")),
        Area("products", _("Products"), "D4",
             _("Products, with light stock keeping for trading firms.")),
    )),
    Section("management", _("Management"), "building", (
        Area("statistics", _("Statistics"), "E1",
             _("New, deleted and net customers and retention by day, employee and channel.")),
        Area("churn-alerts", _("Churn alerts"), "E3",
             _("When a customer deletes an employee, the employee is told; when an employee "
               "deletes a customer, the administrator is told.")),
        Area("transfer", _("Transfer"), "E4",
             _("Customers and groups of resigned employees pass to others, and on-the-job "
               "transfers happen within WeCom's limits, with the history kept.")),
        Area("chat-archive", _("Chat archive"), "E5",
             _("Conversations are stored and searchable for compliance, with sensitive-word "
               "alerts.")),
        Area("team", _("Team"), "E6",
             _("Task assignment, shared customers and performance: sales, response time and "
               "satisfaction.")),
    )),
    Section("insights", _("Insights"), "chart", (
        Area("segments", _("Segments & RFM"), "A4",
             _("Dynamic segments by any attribute, tag or behaviour, and RFM classes: "
               "high-value, potential, ordinary and churned.")),
        Area("dashboards", _("Dashboards"), "E7",
             _("Charts over customers, groups, engagement and sales.")),
    )),
    Section("org", _("Org & system"), "settings", (
        Area("employees", _("Employees"), "F1",
             _("Employees synced from WeCom with their departments, status and customer "
               "counts."),
             "accounts:employees", "org.view"),
        Area("departments", _("Departments"), "F1",
             _("The department tree, which decides whose customers a manager sees."),
             "accounts:departments", "org.view"),
        Area("audit", _("Audit log"), "F2",
             _("Who saw or changed what and when, with the old and new value of every field."),
             "console:audit", "audit.view"),
        Area("jobs", _("Background jobs"), "G4",
             _("Queued, running, failed and stuck background jobs, and the workers running "
               "them."),
             "console:jobs", "jobs.view"),
        Area("wecom-events", _("WeCom callbacks"), "G1",
             _("Every callback WeCom sent: verified, stored, dispatched to customers, groups and "
               "tags, with failures retried and dispatchable again."),
             "wecom:events", "wecom.manage"),
        Area("wecom-sync", _("WeCom sync"), "G1",
             _("Bring departments, employees, customers, tags and groups over from WeCom, send "
               "tags made in Siyu back, and see what each sync changed."),
             "wecom:sync", "wecom.manage"),
        Area("wecom-calls", _("WeCom API calls"), "G1",
             _("Every call to the WeCom API with its answer, latency and retries, and per-API "
               "counts and latency over the last hour."),
             "wecom:calls", "wecom.manage"),
    )),
)

AREAS: dict[str, Area] = {area.slug: area for section in SECTIONS for area in section.areas}


@dataclass(frozen=True)
class NavItem:
    area: Area
    href: str
    built: bool
    active: bool = False


@dataclass(frozen=True)
class NavSection:
    section: Section
    items: tuple[NavItem, ...]


def area_get(slug: str) -> Area | None:
    return AREAS.get(slug)


def area_url(area: Area) -> tuple[str, bool]:
    """(href, built): the area's own page when its URL resolves, else its area page."""
    if area.url_name:
        try:
            return reverse(area.url_name), True
        except NoReverseMatch:
            pass
    return reverse("console:area", args=[area.slug]), False


def is_console_user(user) -> bool:
    return bool(getattr(user, "is_authenticated", False) and user.corp_id)


def user_may_see(user, area: Area) -> bool:
    if not is_console_user(user):
        return False
    return not area.permission or user.has_siyu_perm(area.permission)


def navigation_for(request) -> list[NavSection]:
    user = getattr(request, "user", None)
    if not is_console_user(user):
        return []
    sections = []
    for section in SECTIONS:
        items = [NavItem(area, *area_url(area)) for area in section.areas
                 if user_may_see(user, area)]
        if items:
            sections.append((section, items))
    active_href = _best_match(request.path, [i.href for _s, items in sections for i in items])
    return [
        NavSection(section, tuple(
            NavItem(i.area, i.href, i.built, active=i.href == active_href) for i in items))
        for section, items in sections
    ]


def _best_match(path: str, hrefs: list[str]) -> str | None:
    """The longest nav href that is a prefix of the path, so detail pages light their list."""
    matches = [h for h in hrefs if h != "/" and path.startswith(h)]
    return max(matches, key=len, default=None)
