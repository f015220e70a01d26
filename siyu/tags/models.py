from django.db import models
from django.utils.translation import gettext_lazy as _

from siyu.core.tenancy import TenantModel


class TagGroup(TenantModel):
    name = models.CharField(_("name"), max_length=30)
    order = models.IntegerField(_("order"), default=0)
    # WeCom corp tag group id, filled once synced (A3: tags synced both ways).
    wecom_group_id = models.CharField(max_length=64, blank=True, default="", db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["order", "id"]
        constraints = [models.UniqueConstraint(fields=["corp", "name"], name="uniq_tag_group_name")]
        verbose_name = _("tag group")

    def __str__(self):
        return self.name


class Tag(TenantModel):
    group = models.ForeignKey(TagGroup, on_delete=models.CASCADE, related_name="tags",
                              verbose_name=_("group"))
    name = models.CharField(_("name"), max_length=30)
    order = models.IntegerField(_("order"), default=0)
    wecom_tag_id = models.CharField(max_length=64, blank=True, default="", db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["group__order", "group_id", "order", "id"]
        constraints = [models.UniqueConstraint(fields=["group", "name"], name="uniq_tag_name")]
        verbose_name = _("tag")

    def __str__(self):
        return self.name
