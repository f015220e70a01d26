from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

CLOSE_STOPPED_EVERY_SECONDS = 60


class EngagementConfig(AppConfig):
    name = "siyu.engagement"
    label = "engagement"
    verbose_name = _("Engagement")

    def ready(self):
        from siyu.core.jobs import register_lane, register_periodic
        from siyu.engagement.lane import run_welcome_round
        from siyu.engagement.services import welcome_deliveries_close_stopped

        register_periodic("engagement.close_stopped_welcomes", welcome_deliveries_close_stopped,
                          every_seconds=CLOSE_STOPPED_EVERY_SECONDS)
        # Every add's welcome, within WeCom's 20 s (siyu.engagement.lane).
        register_lane("engagement.welcomes", run_welcome_round)
