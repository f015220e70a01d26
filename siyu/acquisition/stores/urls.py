"""Console URLs of store live codes (mounted under /acquisition/store-codes/)."""

from django.urls import path

from siyu.acquisition.stores import views

urlpatterns = [
    path("", views.store_codes_view, name="store_codes"),
    path("new/", views.store_code_create_view, name="store_code_create"),
    path("<int:pk>/", views.store_code_detail_view, name="store_code_detail"),
    path("<int:pk>/rename/", views.store_code_rename_view, name="store_code_rename"),
    path("<int:pk>/disable/", views.store_code_disable_view, name="store_code_disable"),
    path("<int:pk>/qr.png", views.store_code_qr_view, name="store_code_qr"),
    path("<int:pk>/stores/new/", views.store_create_view, name="store_create"),
    path("<int:pk>/stores/<int:store_pk>/edit/", views.store_edit_view, name="store_edit"),
    path("<int:pk>/stores/<int:store_pk>/delete/", views.store_delete_view,
         name="store_delete"),
]
