"""The WeCom server APIs, one module per area; importing this package registers every route."""

from siyu.wecom.simulator.api import (  # noqa: F401 - imported for their @route registrations
    contact_way,
    customers,
    groups,
    mass,
    misc,
    org,
    tags,
    transfer,
    welcome,
)
from siyu.wecom.simulator.api.registry import ROUTES, Request, Route

__all__ = ["ROUTES", "Request", "Route"]
