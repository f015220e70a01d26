from django.conf import settings
from django.urls import path

from siyu.wecom import callbacks
from siyu.wecom.views import calls, events, sync

app_name = "wecom"
urlpatterns: list = [
    path("callback/<str:corp_id>/", callbacks.callback_view, name="callback"),
    path("events/", events.events_view, name="events"),
    path("events/<int:event_id>/", events.event_detail_view, name="event_detail"),
    path("events/<int:event_id>/redispatch/", events.event_redispatch_view,
         name="event_redispatch"),
    path("sync/", sync.sync_list_view, name="sync"),
    path("sync/start/", sync.sync_start_view, name="sync_start"),
    path("sync/<int:run_id>/", sync.sync_detail_view, name="sync_detail"),
    path("calls/", calls.calls_view, name="calls"),
]
if settings.SIYU_BENCH_BARE_ENDPOINT:  # bench/callbacks.py only, never in normal operation
    urlpatterns.append(path("bench-bare/<str:corp_id>/", callbacks.bench_bare_view,
                            name="bench_bare"))
