"""Console pages for WeCom syncs (admins): start one, watch it live, see history and changes."""

from django.contrib import messages
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from siyu.console.access import console_view, paginate, render_page
from siyu.core.errors import Conflict
from siyu.wecom.sync import active_run, resumable_run, sync_enqueue
from siyu.wecom.sync.selectors import (
    PERMISSION,
    run_change_total,
    run_changes,
    run_is_live,
    run_is_stalled,
    run_stages,
    sync_run_get_for,
    sync_runs_for,
)


@require_GET
@console_view(PERMISSION)
def sync_list_view(request):
    page = paginate(request, sync_runs_for(request.user), per_page=20)
    corp = request.user.corp
    context = {
        "page_obj": page,
        "active": active_run(corp),
        "interrupted": resumable_run(corp, full=False) or resumable_run(corp, full=True),
    }
    return render_page(request, "wecom/sync.html", context,
                       partial="wecom/_sync_history.html")


@require_POST
@console_view(PERMISSION)
def sync_start_view(request):
    try:
        run = sync_enqueue(corp=request.user.corp, actor=request.user,
                           full=request.POST.get("full") == "1")
    except Conflict as exc:
        messages.error(request, exc.message)
        return redirect("wecom:sync")
    messages.success(request, _("The sync is queued; a worker starts it shortly."))
    return redirect("wecom:sync_detail", run_id=run.pk)


@require_GET
@console_view(PERMISSION)
def sync_detail_view(request, run_id):
    run = sync_run_get_for(request.user, run_id)
    context = {
        "run": run,
        "stages": run_stages(run),
        "changes": run_changes(run),
        "change_total": run_change_total(run),
        "live": run_is_live(run),
        "stalled": run_is_stalled(run),
    }
    return render_page(request, "wecom/sync_detail.html", context,
                       partial="wecom/_sync_run.html")
