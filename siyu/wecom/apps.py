from django.apps import AppConfig
from django.conf import settings
from django.utils.translation import gettext_lazy as _


class WecomConfig(AppConfig):
    name = "siyu.wecom"
    label = "wecom"
    verbose_name = _("WeCom integration")

    def ready(self):
        from siyu.core.jobs import register_lane, register_periodic
        from siyu.wecom.feeder import run_feeder_round
        from siyu.wecom.sweeper import sweep_periodic

        # Stored callbacks to the workers, in order per customer (siyu.wecom.feeder); not urgent:
        # it feeds the ordinary work that urgent lanes hold back.
        register_lane("wecom.feeder", run_feeder_round, urgent=False)
        # Callbacks a lost job or a dead worker left behind go back to it (siyu.wecom.sweeper).
        register_periodic("wecom.sweep", sweep_periodic,
                          every_seconds=settings.SIYU_WECOM_SWEEP_EVERY_SECONDS)
