"""Console URLs of channel live codes (mounted under live-codes/, namespace "acquisition")."""

from django.urls import path

from siyu.acquisition.live_codes import views

urlpatterns = [
    path("", views.live_codes_view, name="live_codes"),
    path("new/", views.live_code_create_view, name="live_code_create"),
    path("<int:pk>/", views.live_code_detail_view, name="live_code_detail"),
    path("<int:pk>/edit/", views.live_code_edit_view, name="live_code_edit"),
    path("<int:pk>/disable/", views.live_code_disable_view, name="live_code_disable"),
    path("<int:pk>/qr.png", views.live_code_qr_view, name="live_code_qr"),
    path("<int:pk>/poster/", views.live_code_poster_view, name="live_code_poster"),
]
