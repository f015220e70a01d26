"""Acquisition models, one module per kind of code: channel live codes (B2), group live codes
(B3) and store live codes (B4)."""

from siyu.acquisition.models.group_codes import GroupCode, GroupCodeGroup
from siyu.acquisition.models.live_codes import (
    STATE_MAX,
    LiveCode,
    LiveCodeAdd,
    LiveCodeDailyCount,
    LiveCodeMember,
    LiveCodeRotation,
    LiveCodeTimeSlot,
)
from siyu.acquisition.models.stores import Store, StoreCode

__all__ = [
    "STATE_MAX", "GroupCode", "GroupCodeGroup", "LiveCode", "LiveCodeAdd", "LiveCodeDailyCount",
    "LiveCodeMember", "LiveCodeRotation", "LiveCodeTimeSlot", "Store", "StoreCode",
]
