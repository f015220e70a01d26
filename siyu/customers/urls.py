from django.urls import path

from siyu.customers import views

app_name = "customers"
urlpatterns = [
    path("", views.customer_list_view, name="list"),
    path("new/", views.customer_create_view, name="create"),
    path("<int:pk>/", views.customer_detail_view, name="detail"),
    path("<int:pk>/edit/", views.customer_edit_view, name="edit"),
    path("<int:pk>/tags/add/", views.customer_tag_add_view, name="tag_add"),
    path("<int:pk>/tags/<int:tag_pk>/remove/", views.customer_tag_remove_view,
         name="tag_remove"),
    path("<int:pk>/notes/add/", views.customer_note_add_view, name="note_add"),
    path("<int:pk>/merge/", views.customer_merge_view, name="merge"),
]
