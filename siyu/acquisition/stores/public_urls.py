"""The public landing pages of store codes (no login), mounted at /s/."""

from django.urls import path

from siyu.acquisition.stores import public_views

app_name = "acquisition_public"
urlpatterns = [
    path("<str:slug>/", public_views.landing_view, name="landing"),
    path("<str:slug>/nearest", public_views.nearest_view, name="nearest"),
    path("<str:slug>/stores", public_views.stores_view, name="stores"),
]
