"""Console pages of acquisition, one URL module per kind of code (namespace "acquisition").
The public store landing page is mounted separately (siyu.acquisition.stores.public_urls)."""

from django.urls import include, path

app_name = "acquisition"
urlpatterns = [
    path("live-codes/", include("siyu.acquisition.live_codes.urls")),
    path("live-codes/", include("siyu.acquisition.stats.urls")),
    path("group-codes/", include("siyu.acquisition.group_codes.urls")),
    path("store-codes/", include("siyu.acquisition.stores.urls")),
]
