"""Store live codes (B4): one printed code leads to a public landing page that finds the
customer's nearest store (browser geolocation, or a city/district choice) and shows that
store's own code: a channel live code for its employees and/or a group live code for its
groups."""

import secrets

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from siyu.core.tenancy import TenantModel


def new_slug() -> str:
    return secrets.token_urlsafe(9)


class StoreCode(TenantModel):
    class Status(models.TextChoices):
        ACTIVE = "active", pgettext_lazy("code status", "Active")
        DISABLED = "disabled", pgettext_lazy("code status", "Disabled")

    name = models.CharField(_("name"), max_length=64)
    # The public landing page's address (/s/<slug>/): unguessable, so one enterprise's
    # stores cannot be enumerated from another's.
    slug = models.CharField(max_length=32, unique=True, default=new_slug)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices,
                              default=Status.ACTIVE, db_index=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL,
                                   null=True, blank=True, related_name="+")
    # Landing page openings, counted with one conditional UPDATE each (no table of hits).
    landing_views = models.PositiveBigIntegerField(_("landing page views"), default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("store live code")

    def __str__(self):
        return self.name


class Store(TenantModel):
    store_code = models.ForeignKey(StoreCode, on_delete=models.CASCADE, related_name="stores")
    name = models.CharField(_("name"), max_length=64)
    province = models.CharField(_("province"), max_length=32, blank=True, default="")
    city = models.CharField(_("city"), max_length=32)
    district = models.CharField(_("district"), max_length=32, blank=True, default="")
    address = models.CharField(_("address"), max_length=200)
    # WGS-84 degrees, as browsers' geolocation reports them.
    latitude = models.DecimalField(_("latitude"), max_digits=9, decimal_places=6, null=True,
                                   blank=True)
    longitude = models.DecimalField(_("longitude"), max_digits=9, decimal_places=6, null=True,
                                    blank=True)
    phone = models.CharField(_("phone"), max_length=32, blank=True, default="")
    employees = models.ManyToManyField("accounts.Employee", blank=True, related_name="+",
                                       verbose_name=_("employees"))
    groups = models.ManyToManyField("groups.CustomerGroup", blank=True, related_name="+",
                                    verbose_name=_("groups"))
    # The codes the landing page shows, kept in step with employees/groups by the services.
    live_code = models.ForeignKey("acquisition.LiveCode", on_delete=models.SET_NULL, null=True,
                                  blank=True, related_name="+")
    group_code = models.ForeignKey("acquisition.GroupCode", on_delete=models.SET_NULL,
                                   null=True, blank=True, related_name="+")
    order = models.IntegerField(_("order"), default=0)
    # Times the landing page answered a location with this store as the nearest.
    shown_nearest = models.PositiveBigIntegerField(_("shown as nearest"), default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["order", "id"]
        verbose_name = _("store")

    def __str__(self):
        return self.name
