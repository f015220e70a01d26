from django.conf import settings
from django.urls import path

from siyu.wecom import callbacks, views_calls, views_events, views_sync

app_name = "wecom"
urlpatterns: list = [
    path("callback/<str:corp_id>/", callbacks.callback_view, name="callback"),
    path("events/", views_events.events_view, name="events"),
    path("events/<int:event_id>/", views_events.event_detail_view, name="event_detail"),
    path("events/<int:event_id>/redispatch/", views_events.event_redispatch_view,
         name="event_redispatch"),
    path("sync/", views_sync.sync_list_view, name="sync"),
    path("sync/start/", views_sync.sync_start_view, name="sync_start"),
    path("sync/<int:run_id>/", views_sync.sync_detail_view, name="sync_detail"),
    path("calls/", views_calls.calls_view, name="calls"),
]
if settings.SIYU_BENCH_BARE_ENDPOINT:  # bench/callbacks.py only, never in normal operation
    urlpatterns.append(path("bench-bare/<str:corp_id>/", callbacks.bench_bare_view,
                            name="bench_bare"))
