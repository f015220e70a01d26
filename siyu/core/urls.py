from django.urls import path

from siyu.core import views

app_name = "core"
urlpatterns = [
    path("jobs/", views.jobs, name="jobs"),
    path("jobs/<uuid:job_id>/retry/", views.job_retry_view, name="job_retry"),
]
