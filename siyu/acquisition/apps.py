from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AcquisitionConfig(AppConfig):
    name = "siyu.acquisition"
    label = "acquisition"
    verbose_name = _("Acquisition")
