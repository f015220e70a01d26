"""Tenant scoping, enforced in one place.

Every tenant-owned model inherits :class:`TenantModel`. Its default manager returns a
:class:`TenantQuerySet` that refuses to touch the database until the query is scoped with
``.for_corp(corp)``. Code that must cross tenants says ``.unscoped()`` out loud.

Related managers (``customer.follows.all()``) and prefetches are allowed: Django marks them
with the parent instance as a hint, and that parent was itself loaded through a scope.
"""

from django.db import models


class UnscopedQueryError(RuntimeError):
    """A tenant-owned table was queried without ``for_corp()`` or ``unscoped()``."""


class TenantQuerySet(models.QuerySet):
    _siyu_scoped = False

    def for_corp(self, corp):
        corp_id = getattr(corp, "pk", corp)
        if corp_id is None:
            raise UnscopedQueryError(f"{self.model.__name__}.for_corp() needs a corp, got None")
        clone = self.filter(corp_id=corp_id)
        clone._siyu_scoped = True
        return clone

    def unscoped(self):
        clone = self._chain()
        clone._siyu_scoped = True
        return clone

    def _clone(self):
        clone = super()._clone()
        clone._siyu_scoped = self._siyu_scoped
        return clone

    def _check_scoped(self):
        # ``.none()`` never reaches the database, so it cannot leak a row.
        if self._siyu_scoped or "instance" in self._hints or self.query.is_empty():
            return
        raise UnscopedQueryError(
            f"Query on tenant-owned {self.model.__name__} without for_corp(corp); "
            "call .for_corp(corp), or .unscoped() where crossing tenants is intended."
        )

    def _fetch_all(self):
        if self._result_cache is None:
            self._check_scoped()
        super()._fetch_all()

    def iterator(self, *args, **kwargs):
        self._check_scoped()
        return super().iterator(*args, **kwargs)

    def count(self):
        self._check_scoped()
        return super().count()

    def exists(self):
        self._check_scoped()
        return super().exists()

    def aggregate(self, *args, **kwargs):
        self._check_scoped()
        return super().aggregate(*args, **kwargs)

    def update(self, **kwargs):
        self._check_scoped()
        return super().update(**kwargs)

    def delete(self):
        self._check_scoped()
        return super().delete()

    def in_bulk(self, *args, **kwargs):
        self._check_scoped()
        return super().in_bulk(*args, **kwargs)


class TenantManager(models.Manager.from_queryset(TenantQuerySet)):
    pass


class TenantModel(models.Model):
    corp = models.ForeignKey("accounts.Corp", on_delete=models.CASCADE, related_name="+")

    # Forward FK access and Django internals use ``_base_manager``, a plain Manager: the row
    # they start from was itself loaded through a scope.
    objects = TenantManager()

    class Meta:
        abstract = True
