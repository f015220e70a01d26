from django.urls import path

from siyu.engagement import views

app_name = "engagement"
urlpatterns = [
    path("welcome/", views.welcome_view, name="welcome"),
    path("welcome/save/", views.welcome_save_view, name="welcome_save"),
    path("welcome/preview/", views.welcome_preview_view, name="welcome_preview"),
]
