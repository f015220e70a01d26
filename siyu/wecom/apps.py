from django.apps import AppConfig
from django.conf import settings
from django.utils.translation import gettext_lazy as _


class WecomConfig(AppConfig):
    name = "siyu.wecom"
    label = "wecom"
    verbose_name = _("WeCom integration")

    def ready(self):
        from siyu.core.jobs import register_periodic
        from siyu.wecom.sweeper import sweep_periodic

        # Workers re-drive callbacks whose dispatch was lost (see siyu.wecom.sweeper).
        register_periodic("wecom.sweep", sweep_periodic,
                          every_seconds=settings.SIYU_WECOM_SWEEP_EVERY_SECONDS)
