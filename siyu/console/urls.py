from django.urls import path

from siyu.console import views

app_name = "console"
urlpatterns = [
    path("", views.home_view, name="home"),
    path("login/", views.login_view, name="login"),
    path("logout/", views.logout_view, name="logout"),
    path("area/<slug:slug>/", views.area_view, name="area"),
    path("audit/", views.audit_view, name="audit"),
    path("system/jobs/", views.jobs_view, name="jobs"),
    path("system/jobs/<uuid:job_id>/retry/", views.job_retry_view, name="job_retry"),
]
