"""API routing: each handler registers the paths (relative to /cgi-bin/) it answers."""

from dataclasses import dataclass, field

from siyu.wecom.simulator.errors import ApiError

ROUTES: dict[str, "Route"] = {}


@dataclass
class Route:
    handler: object
    # Which secret kinds may call it (the customer-contact secret for externalcontact APIs).
    kinds: tuple = ("contact", "app")


@dataclass
class Request:
    query: dict
    body: dict
    now: float
    kind: str = ""
    extra: dict = field(default_factory=dict)

    def arg(self, name, default=None):
        if name in self.body:
            return self.body[name]
        return self.query.get(name, default)

    def required(self, name, errcode=40058):
        value = self.arg(name)
        if value in (None, "", []):
            raise ApiError(errcode, f"{name} missing")
        return value

    def int_arg(self, name, default):
        value = self.arg(name, default)
        try:
            return int(value)
        except (TypeError, ValueError):
            raise ApiError(40058, f"{name} must be an integer") from None

    def list_arg(self, name) -> list:
        value = self.arg(name) or []
        if not isinstance(value, list):
            raise ApiError(40058, f"{name} must be a list")
        return value


def route(*paths: str, kinds=("contact", "app")):
    def register(fn):
        for path in paths:
            ROUTES[path] = Route(fn, kinds)
        return fn
    return register


def page(items: list, cursor, limit: int) -> tuple[list, str]:
    """Opaque cursors are offsets rendered as strings; an empty next cursor ends the list."""
    try:
        start = int(cursor or 0)
    except (TypeError, ValueError):
        raise ApiError(40058, "invalid cursor") from None
    chunk = items[start:start + limit]
    end = start + len(chunk)
    return chunk, (str(end) if end < len(items) else "")


def check_limit(req: Request, name: str, default: int, maximum: int) -> int:
    limit = req.int_arg(name, default) or default
    if not 0 < limit <= maximum:
        raise ApiError(40058, f"{name} must be 1..{maximum}")
    return limit


def check_attachments(attachments, maximum: int = 9) -> list:
    if attachments is None:
        return []
    if not isinstance(attachments, list):
        raise ApiError(40058, "attachments must be a list")
    if len(attachments) > maximum:
        raise ApiError(40058, f"at most {maximum} attachments")
    for item in attachments:
        kind = isinstance(item, dict) and item.get("msgtype")
        if kind not in ("image", "link", "miniprogram", "video", "file"):
            raise ApiError(40058, "attachment msgtype must be image, link, miniprogram, "
                                  "video or file")
        if not isinstance(item.get(kind), dict):
            raise ApiError(40058, f"attachment of msgtype {kind} needs a {kind} object")
    return attachments
