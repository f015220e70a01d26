from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

EXPIRE_EVERY_SECONDS = 60
# Duty slots are given to the minute; checking twice a minute keeps a slot edge within 30 s.
REFRESH_EVERY_SECONDS = 30


class AcquisitionConfig(AppConfig):
    name = "siyu.acquisition"
    label = "acquisition"
    verbose_name = _("Acquisition")

    def ready(self):
        from siyu.acquisition.group_codes.services import group_codes_reconcile
        from siyu.acquisition.live_codes.schedule import live_codes_refresh_due
        from siyu.acquisition.live_codes.services import live_codes_expire
        from siyu.core.jobs import register_periodic

        register_periodic("acquisition.expire_live_codes", live_codes_expire,
                          every_seconds=EXPIRE_EVERY_SECONDS)
        register_periodic("acquisition.refresh_live_codes", live_codes_refresh_due,
                          every_seconds=REFRESH_EVERY_SECONDS)
        # Group codes: expiry, and a safety net for a join way push that failed.
        register_periodic("acquisition.reconcile_group_codes", group_codes_reconcile,
                          every_seconds=EXPIRE_EVERY_SECONDS)
