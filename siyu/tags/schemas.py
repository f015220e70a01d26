"""Shapes of tag groups and tags in the REST API."""

from ninja import Field, Schema
from pydantic import ConfigDict

from siyu.core.api_support import OrderValue


class TagOut(Schema):
    id: int
    name: str
    order: int
    group_id: int
    group: str


class GroupTagOut(Schema):
    id: int
    name: str
    order: int


class TagGroupOut(Schema):
    id: int
    name: str
    order: int
    tags: list[GroupTagOut]


class TagGroupIn(Schema):
    model_config = ConfigDict(extra="forbid")

    name: str
    order: OrderValue = 0
    tag_names: list[str] = Field([], max_length=200,
                                 description="Tags to create in the new group, in order.")


class TagGroupPatchIn(Schema):
    model_config = ConfigDict(extra="forbid")

    name: str | None = None
    order: OrderValue | None = None


class TagIn(Schema):
    model_config = ConfigDict(extra="forbid")

    name: str
    order: OrderValue = 0


class TagPatchIn(Schema):
    model_config = ConfigDict(extra="forbid")

    name: str | None = None
    order: OrderValue | None = None
