from django.urls import include, path

urlpatterns = [
    path("", include("siyu.console.urls")),
]
