"""The public landing pages of store codes (no login), mounted at /s/."""

from django.urls import path

from siyu.acquisition.stores import public_views as views_public

app_name = "acquisition_public"
urlpatterns = [
    path("<str:slug>/", views_public.landing_view, name="landing"),
    path("<str:slug>/nearest", views_public.nearest_view, name="nearest"),
    path("<str:slug>/stores", views_public.stores_view, name="stores"),
]
