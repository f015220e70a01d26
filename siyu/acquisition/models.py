"""Acquisition models, one module per kind of code: channel live codes (B2), group live codes
(B3) and store live codes (B4)."""

from siyu.acquisition.group_codes.models import GroupCode, GroupCodeGroup
from siyu.acquisition.live_codes.models import (
    STATE_MAX,
    LiveCode,
    LiveCodeAdd,
    LiveCodeDailyCount,
    LiveCodeMember,
    LiveCodeRotation,
    LiveCodeTimeSlot,
)
from siyu.acquisition.stores.models import Store, StoreCode

__all__ = [
    "STATE_MAX", "GroupCode", "GroupCodeGroup", "LiveCode", "LiveCodeAdd", "LiveCodeDailyCount",
    "LiveCodeMember", "LiveCodeRotation", "LiveCodeTimeSlot", "Store", "StoreCode",
]
