"""Console URLs of live code statistics (mounted under live-codes/, namespace "acquisition")."""

from django.urls import path

from siyu.acquisition.stats import views as views_stats

urlpatterns = [
    path("stats/", views_stats.live_codes_stats_view, name="live_codes_stats"),
    path("<int:pk>/stats/", views_stats.live_code_stats_view, name="live_code_stats"),
    path("<int:pk>/stats.csv", views_stats.live_code_stats_csv_view, name="live_code_stats_csv"),
    path("<int:pk>/stats.xlsx", views_stats.live_code_stats_xlsx_view,
         name="live_code_stats_xlsx"),
]
