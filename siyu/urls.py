from django.urls import include, path

from siyu.api import api

urlpatterns = [
    path("api/", api.urls),
    path("customers/", include("siyu.customers.urls")),
    path("tags/", include("siyu.tags.urls")),
    path("org/", include("siyu.accounts.urls")),
    path("groups/", include("siyu.groups.urls")),
    path("wecom/", include("siyu.wecom.urls")),
    path("engagement/", include("siyu.engagement.urls")),
    path("acquisition/", include("siyu.acquisition.urls")),
    path("s/", include("siyu.acquisition.stores.public_urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("", include("siyu.console.urls")),
]
