from django.apps import AppConfig
from django.utils.module_loading import autodiscover_modules


class CoreConfig(AppConfig):
    name = "siyu.core"
    label = "core"
    verbose_name = "Siyu core"

    def ready(self):
        # Every app's event subscribers register themselves on import (siyu.core.events):
        # a new feature app only has to be installed for its subscribers to run.
        autodiscover_modules("subscribers")
