from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

EXPIRE_EVERY_SECONDS = 60


class AcquisitionConfig(AppConfig):
    name = "siyu.acquisition"
    label = "acquisition"
    verbose_name = _("Acquisition")

    def ready(self):
        from siyu.acquisition.services import live_codes_expire
        from siyu.core.jobs import register_periodic

        register_periodic("acquisition.expire_live_codes", live_codes_expire,
                          every_seconds=EXPIRE_EVERY_SECONDS)
