"""Hand-built store codes and stores for the console and landing page tests: rows only, with
live/group codes that look synced (a qr_code URL) but never touched WeCom. The services'
own tests run against the simulator."""

import itertools
from decimal import Decimal

from siyu.acquisition.models import GroupCode, LiveCode, Store, StoreCode

_numbers = itertools.count(1)


def store_code(corp, name="门店活码", **fields) -> StoreCode:
    return StoreCode.objects.create(corp=corp, name=name, **fields)


def store(code, name, *, city="上海市", district="", address="某路 1 号", lat=None, lng=None,
          phone="", employees=(), groups=(), order=0, live=True, group=False,
          code_status="active") -> Store:
    """A store of ``code``; ``live``/``group`` give it a channel/group code with status
    ``code_status``."""
    n = next(_numbers)
    live_code = group_code = None
    if live:
        live_code = LiveCode.objects.create(
            corp_id=code.corp_id, name=f"{code.name} · {name}", state=f"lc_f{n}",
            status=code_status, wecom_config_id=f"cfg{n}",
            qr_code=f"https://wework.qpic.cn/wwpic/live-{n}/0")
    if group:
        group_code = GroupCode.objects.create(
            corp_id=code.corp_id, name=f"{code.name} · {name}", state=f"gc_f{n}",
            status=code_status, wecom_config_id=f"gcfg{n}",
            qr_code=f"https://wework.qpic.cn/wwpic/group-{n}/0")
    row = Store.objects.create(
        corp_id=code.corp_id, store_code=code, name=name, city=city, district=district,
        address=address, phone=phone, order=order,
        latitude=None if lat is None else Decimal(str(lat)),
        longitude=None if lng is None else Decimal(str(lng)),
        live_code=live_code, group_code=group_code)
    row.employees.set(employees)
    row.groups.set(groups)
    return row
