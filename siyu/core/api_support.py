"""What every REST endpoint shares: authentication, JSON error bodies, cursor pagination.

Errors always have the shape of :meth:`siyu.core.errors.DomainError.as_dict`,
``{"error", "message", "fields"}``, whether a service refused the input, ninja could not parse
it, or the caller is not signed in, so clients handle one format.
"""

import base64
import binascii
import json
from typing import Annotated, Any

from django.http import Http404
from django.utils.translation import gettext as _
from ninja import Field, Schema
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.parser import Parser
from ninja.security import HttpBearer
from ninja.security.session import SessionAuth

from siyu.core.errors import DomainError, ValidationFailed

# Ids arrive as JSON numbers, query strings and path segments; anything beyond a signed 64-bit
# integer would overflow the database driver, so it is rejected as input instead.
MAX_ID = 2**63 - 1
ObjectId = Annotated[int, Field(ge=1, le=MAX_ID)]
# Order values land in 32-bit integer columns.
OrderValue = Annotated[int, Field(ge=-(2**31), le=2**31 - 1)]

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 200


class ErrorOut(Schema):
    error: str
    message: str
    fields: dict[str, list[str]]


READ_ERRORS = {frozenset({401, 403, 404, 422}): ErrorOut}
WRITE_ERRORS = {frozenset({400, 401, 403, 404, 409, 422}): ErrorOut}


# --- authentication -------------------------------------------------------------------------


class BearerTokenAuth(HttpBearer):
    """``Authorization: Bearer siyu_…`` API tokens.

    A token that is sent but wrong is refused outright (401) rather than falling back to the
    session, so a revoked token never silently works from a browser that is also signed in.
    ``user_for_token`` comes from the project wiring (core imports no app).
    """

    def __init__(self, user_for_token):
        self.user_for_token = user_for_token
        super().__init__()

    def authenticate(self, request, token):
        user = self.user_for_token(token.strip())
        if user is None:
            raise AuthenticationError(message=_("The API token is not valid or was revoked."))
        request.user = user
        return user


class SessionCsrfAuth(SessionAuth):
    """The console's Django session; unsafe methods need the CSRF token, as in the console.

    Anonymous requests get ``None`` (hence 401) before the CSRF check, so a caller without any
    credentials learns it must authenticate rather than seeing a CSRF failure.
    """

    def __call__(self, request):
        if not request.user.is_authenticated:
            return None
        return super().__call__(request)



# --- request parsing ------------------------------------------------------------------------


class BodyRejected(ValueError):
    """A JSON body that parses but cannot be stored (NaN, NUL characters)."""


def _reject_constant(name):
    raise BodyRejected(_("%(c)s is not allowed in the request body; send a number or null.")
                       % {"c": name})


def _reject_nul(value):
    # PostgreSQL cannot store NUL characters in text; refusing them here keeps that a 4xx.
    if isinstance(value, str):
        if "\x00" in value:
            raise BodyRejected(_("Text must not contain NUL (\\u0000) characters."))
    elif isinstance(value, dict):
        for key, item in value.items():
            _reject_nul(key)
            _reject_nul(item)
    elif isinstance(value, list):
        for item in value:
            _reject_nul(item)


class StrictJsonParser(Parser):
    def parse_body(self, request):
        data = json.loads(request.body, parse_constant=_reject_constant)
        _reject_nul(data)
        return data

    def parse_querydict(self, data, list_fields, request):
        result = super().parse_querydict(data, list_fields, request)
        for key, value in result.items():
            values = value if isinstance(value, list) else [value]
            if any("\x00" in v for v in values):
                raise ValidationFailed(
                    _("A query parameter contains a NUL character."),
                    field_errors={key: [_("Must not contain NUL (%00) characters.")]},
                )
        return result


# --- errors ---------------------------------------------------------------------------------


def _error_body(code: str, message: str, fields: dict | None = None) -> dict:
    return {"error": code, "message": str(message), "fields": fields or {}}


def _readable(error: dict) -> str:
    """A field message a person can act on, from one pydantic error."""
    kind = error.get("type", "")
    messages = {
        "missing": _("This field is required."),
        "extra_forbidden": _("Unknown field; see /api/docs for the accepted fields."),
        "int_parsing": _("Must be a whole number."),
        "int_type": _("Must be a whole number."),
        "int_from_float": _("Must be a whole number."),
        "string_type": _("Must be text."),
        "list_type": _("Must be a list."),
        "bool_parsing": _("Use true or false."),
        "bool_type": _("Use true or false."),
        "date_parsing": _("Use a date like 2024-05-20."),
        "date_type": _("Use a date like 2024-05-20."),
        "date_from_datetime_parsing": _("Use a date like 2024-05-20."),
        "date_from_datetime_inexact": _("Use a date like 2024-05-20."),
        "dict_type": _("Must be a JSON object."),
        "model_type": _("Must be a JSON object."),
        "model_attributes_type": _("Must be a JSON object."),
    }
    return messages.get(kind, error.get("msg", _("Not valid.")))


# Handlers name their body schema parameter "payload" and their query schema "query".
PARAMETER_NAMES = ("payload", "query")


def field_errors_from_ninja(errors: list[dict]) -> dict[str, list[str]]:
    """Keys ninja's error locations by the field the caller sent.

    ninja reports ``("body", "payload", "birthday")`` or ``("query", "limit")``; the caller
    knows neither the source nor the name of our parameter, only ``birthday``.
    """
    fields: dict[str, list[str]] = {}
    for error in errors:
        loc = list(error.get("loc", ()))
        source = str(loc.pop(0)) if loc else "body"
        # ninja leaves our parameter name in some locations, e.g. ("query", "query", "tag", 0).
        if loc and loc[0] in PARAMETER_NAMES and (source == "body" or len(loc) > 1):
            loc.pop(0)
        names = [part for part in loc if isinstance(part, str)]
        field = names[0] if names else source
        message = _readable(error)
        if field == "body" and error.get("type") == "missing":
            message = _("Send a JSON object in the request body.")
        positions = [part for part in loc if isinstance(part, int)]
        if positions:
            message = _("Item %(n)d: %(message)s") % {"n": positions[0] + 1, "message": message}
        fields.setdefault(field, []).append(message)
    return fields


def install_error_handlers(api) -> None:
    @api.exception_handler(DomainError)
    def domain_error(request, exc: DomainError):
        return api.create_response(request, exc.as_dict(), status=exc.status_code)

    @api.exception_handler(NinjaValidationError)
    def validation_error(request, exc: NinjaValidationError):
        body = _error_body("validation_failed", _("Some input is not valid; nothing was saved."),
                           field_errors_from_ninja(exc.errors))
        return api.create_response(request, body, status=422)

    @api.exception_handler(AuthenticationError)
    def unauthenticated(request, exc: AuthenticationError):
        message = exc.message if exc.message != "Unauthorized" else _(
            "Sign in, or send an API token as “Authorization: Bearer <token>”.")
        response = api.create_response(request, _error_body("unauthenticated", message),
                                       status=401)
        response["WWW-Authenticate"] = 'Bearer realm="siyu"'
        return response

    @api.exception_handler(HttpError)
    def http_error(request, exc: HttpError):
        cause = exc.__cause__
        if exc.status_code == 400 and cause is not None:
            # ninja wraps any failure to parse the body; say what was wrong with it.
            if isinstance(cause, BodyRejected):
                message = str(cause)
            else:
                message = _("The request body is not valid JSON (%(e)s).") % {"e": cause}
            body = _error_body("bad_request", message, {"body": [message]})
            return api.create_response(request, body, status=400)
        if exc.status_code == 403 and "CSRF" in exc.message:
            body = _error_body("csrf_failed", _(
                "CSRF check failed: send the csrftoken cookie's value in the X-CSRFToken "
                "header, or authenticate with an API token instead of the session."))
            return api.create_response(request, body, status=403)
        return api.create_response(request, _error_body("http_error", exc.message),
                                   status=exc.status_code)

    @api.exception_handler(Http404)
    def not_found(request, exc: Http404):
        return api.create_response(request, _error_body("not_found", _("Not found.")),
                                   status=404)


# --- cursor pagination ----------------------------------------------------------------------

_CURSOR_PREFIX = "id:"


class PageQuery(Schema):
    limit: int = Field(DEFAULT_PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE,
                       description="Rows per page (at most 200).")
    cursor: str | None = Field(None, max_length=100,
                               description="The next_cursor of the previous page.")


class Page(Schema):
    next_cursor: str | None


def encode_cursor(last_id: int) -> str:
    return base64.urlsafe_b64encode(f"{_CURSOR_PREFIX}{last_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    bad = ValidationFailed(
        _("The cursor is not valid."),
        field_errors={"cursor": [_("Pass the next_cursor of the previous page unchanged, or "
                                   "leave it out to start from the first page.")]},
    )
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise bad from None
    if not raw.startswith(_CURSOR_PREFIX) or not raw[len(_CURSOR_PREFIX):].isdigit():
        raise bad
    last_id = int(raw[len(_CURSOR_PREFIX):])
    if not 1 <= last_id <= MAX_ID:
        raise bad
    return last_id


def cursor_page(queryset, *, cursor: str | None, limit: int) -> tuple[list[Any], str | None]:
    """One page of ``queryset``, newest id first, and the cursor of the next page.

    Keyset pagination on the primary key: rows inserted while a client pages never shift
    later pages, and each page is an indexed range scan however deep the client goes.
    """
    queryset = queryset.order_by("-id")
    if cursor:
        queryset = queryset.filter(id__lt=decode_cursor(cursor))
    rows = list(queryset[: limit + 1])
    if len(rows) > limit:
        rows = rows[:limit]
        return rows, encode_cursor(rows[-1].pk)
    return rows, None
