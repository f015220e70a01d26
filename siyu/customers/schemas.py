"""Shapes of customers in the REST API. Validation of values lives in customers.validation."""

import datetime
from typing import Any, Literal

from ninja import Field, Schema
from pydantic import ConfigDict

from siyu.core.api_support import ObjectId, Page, PageQuery


class CustomerFieldsIn(Schema):
    """Editable profile fields; types here, value rules (phones, dates…) in validation.py."""

    model_config = ConfigDict(extra="forbid")

    avatar: str | None = None
    type: int | None = Field(None, description="0 unknown, 1 WeChat user, 2 WeCom user.")
    gender: int | None = Field(None, description="0 unknown, 1 male, 2 female.")
    phones: list[str] | None = None
    email: str | None = None
    birthday: datetime.date | None = None
    region: str | None = None
    company: str | None = None
    custom_fields: dict[str, Any] | None = Field(
        None, description="Name → text, number or true/false; at most 50.")
    unionid: str | None = None
    external_userid: str | None = None


class CustomerCreateIn(CustomerFieldsIn):
    name: str
    owner_id: ObjectId | None = Field(
        None, description="Employee who follows the customer; defaults to your own employee.")


class CustomerPatchIn(CustomerFieldsIn):
    name: str | None = None


class TagIdsIn(Schema):
    model_config = ConfigDict(extra="forbid")

    tag_ids: list[ObjectId] = Field(..., min_length=1, max_length=100)


class MergeIn(Schema):
    model_config = ConfigDict(extra="forbid")

    duplicate_id: ObjectId


class CustomerQuery(Schema):
    tag: list[ObjectId] = Field([], description="Tag id; repeat to require all of them.")
    owner: ObjectId | None = Field(None, description="Employee id following the customer.")
    state: str = Field("", max_length=64, description="Channel state of the follow relation.")
    added_from: datetime.date | None = Field(None, description="Added on or after this day.")
    added_to: datetime.date | None = Field(None, description="Added on or before this day.")
    q: str = Field("", max_length=100, description="Search name, phone, remark, company.")
    include_lost: bool = Field(
        False, description="Let owner, state and date filters match ended follow relations too.")


class CustomerListQuery(CustomerQuery, PageQuery):
    """The list's filters plus cursor paging (export takes the filters alone)."""


class CustomerExportQuery(CustomerQuery):
    format: Literal["csv", "xlsx"] = "csv"


class TimelineQuery(Schema):
    limit: int = Field(50, ge=1, le=200)


class CustomerTagOut(Schema):
    id: int
    name: str
    group_id: int
    group: str


class FollowOut(Schema):
    employee_id: int
    employee_name: str
    remark: str
    description: str
    state: str
    add_way: int
    added_at: datetime.datetime
    deleted_at: datetime.datetime | None
    deleted_by: str


class CustomerOut(Schema):
    id: int
    external_userid: str | None
    unionid: str
    name: str
    avatar: str
    type: int
    gender: int
    phones: list[str]
    email: str
    birthday: datetime.date | None
    region: str
    company: str
    custom_fields: dict[str, Any]
    created_at: datetime.datetime
    updated_at: datetime.datetime
    tags: list[CustomerTagOut]
    follows: list[FollowOut]


class CustomerPage(Page):
    items: list[CustomerOut]


class TimelineEventOut(Schema):
    id: int
    kind: str
    occurred_at: datetime.datetime
    summary: str
    actor: str | None
    employee_id: int | None
    employee_name: str | None
    data: dict[str, Any]


class TimelineOut(Schema):
    items: list[TimelineEventOut]
