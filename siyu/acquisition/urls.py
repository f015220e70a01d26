"""Console pages of acquisition, one URL module per kind of code (namespace "acquisition").
The public store landing page is mounted separately (siyu.acquisition.urls_public)."""

from django.urls import include, path

app_name = "acquisition"
urlpatterns = [
    path("live-codes/", include("siyu.acquisition.urls_live_codes")),
    path("live-codes/", include("siyu.acquisition.urls_stats")),
    path("group-codes/", include("siyu.acquisition.urls_group_codes")),
    path("store-codes/", include("siyu.acquisition.urls_stores")),
]
