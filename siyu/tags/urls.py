from django.urls import path

from siyu.tags import views

app_name = "tags"
urlpatterns = [
    path("", views.tag_list_view, name="list"),
    path("groups/new/", views.group_create_view, name="group_create"),
    path("groups/<int:pk>/rename/", views.group_rename_view, name="group_rename"),
    path("groups/<int:pk>/delete/", views.group_delete_view, name="group_delete"),
    path("groups/<int:pk>/tags/new/", views.tag_create_view, name="tag_create"),
    path("<int:pk>/rename/", views.tag_rename_view, name="tag_rename"),
    path("<int:pk>/delete/", views.tag_delete_view, name="tag_delete"),
]
