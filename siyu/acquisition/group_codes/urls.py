"""Console URLs of group live codes (mounted under group-codes/, namespace "acquisition")."""

from django.urls import path

from siyu.acquisition.group_codes import views

urlpatterns = [
    path("", views.group_codes_view, name="group_codes"),
    path("new/", views.group_code_create_view, name="group_code_create"),
    path("<int:pk>/", views.group_code_detail_view, name="group_code_detail"),
    path("<int:pk>/edit/", views.group_code_edit_view, name="group_code_edit"),
    path("<int:pk>/disable/", views.group_code_disable_view, name="group_code_disable"),
    path("<int:pk>/qr.png", views.group_code_qr_view, name="group_code_qr"),
]
