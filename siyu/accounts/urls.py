from django.urls import path

from siyu.accounts import views

app_name = "accounts"
urlpatterns = [
    path("employees/", views.employees_view, name="employees"),
    path("departments/", views.departments_view, name="departments"),
]
