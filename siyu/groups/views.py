"""Console pages for customer groups: the list (htmx search) and a group's members and
join/quit history. Views parse input, call a selector, and render."""

from django.utils.translation import gettext_lazy as _

from siyu.console.access import console_view, paginate, render_page
from siyu.groups.models import CustomerGroup
from siyu.groups.selectors import group_get_for, group_history, group_list, group_members

# groupchat/get's join_scene, and the callback's QuitScene.
JOIN_SCENES = {1: _("Invited by a member"), 2: _("Invitation link"), 3: _("Scanned the QR code")}
QUIT_SCENES = {0: _("Left the group"), 1: _("Removed by the owner or an admin")}


@console_view("groups.view")
def group_list_view(request):
    q = request.GET.get("q", "").strip()
    status = request.GET.get("status", "")
    status = status if status in CustomerGroup.Status.values else ""
    page = paginate(request, group_list(request.user, q=q, status=status))
    context = {"page_obj": page, "q": q, "status": status,
               "statuses": CustomerGroup.Status.choices, "filtered": bool(q or status)}
    return render_page(request, "groups/list.html", context, partial="groups/_results.html")


@console_view("groups.view")
def group_detail_view(request, pk):
    actor = request.user
    group = group_get_for(actor, pk)
    members = group_members(actor, group)
    for member in members:
        member.scene_label = JOIN_SCENES.get(member.row.join_scene, "")
        member.quit_label = QUIT_SCENES.get(member.row.quit_scene, "")
    history = group_history(actor, group)
    for entry in history:
        scenes = JOIN_SCENES if entry.row.kind == entry.row.Kind.JOINED else QUIT_SCENES
        entry.scene_label = scenes.get(entry.row.scene, "")
    present = [m for m in members if m.row.quit_at is None]
    context = {
        "group": group,
        "members": members,
        "history": history,
        "employee_count": sum(1 for m in present if m.is_employee),
        "customer_count": sum(1 for m in present if not m.is_employee),
    }
    return render_page(request, "groups/detail.html", context)
