from django.contrib import messages
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from siyu.console.access import console_view, render_page
from siyu.core.errors import Conflict
from siyu.core.jobs.selectors import jobs_overview
from siyu.core.jobs.services import job_retry


@console_view("jobs.view")
def jobs(request):
    context = {"overview": jobs_overview(request.user)}
    return render_page(request, "console/jobs.html", context, partial="console/_jobs_body.html")


@console_view("jobs.view")
@require_POST
def job_retry_view(request, job_id):
    try:
        job_retry(actor=request.user, job_id=job_id, ip=request.META.get("REMOTE_ADDR"))
    except Conflict as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("The job is queued to run again."))
    return redirect("console:jobs")
