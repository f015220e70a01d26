"""Strings that third-party packages show in Siyu's console, listed so that `make messages`
extracts them into Siyu's catalogs (Django looks them up in every catalog, and these packages
ship no Chinese translation). This module is never imported."""

from django.utils.translation import pgettext_lazy

# django_tasks.TaskResultStatus labels, used in job messages (e.g. "this job is Successful").
TASK_STATUS_LABELS = (
    pgettext_lazy("Task", "Ready"),
    pgettext_lazy("Task", "Running"),
    pgettext_lazy("Task", "Failed"),
    pgettext_lazy("Task", "Successful"),
)
