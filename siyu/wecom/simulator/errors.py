"""WeCom errcodes the simulator answers with, and the choices made where WeCom's documentation
does not say which code a limit produces.

Documented choices:
- Over-long ``state`` (>30 chars), more than 9 attachments, ``limit`` above an API's maximum, more
  than 100 customers in one transfer, more than 5 chats in a join way, over-long tag names and
  remarks: 40058 "invalid parameter" (WeCom's generic code for a parameter outside its rules).
- Welcome text over 4000 bytes: 45002 "content size out of limit".
- Welcome code never issued: 41050; issued but older than 20 s or already used: 41051.
- An unknown API path: HTTP 404 with errcode 48001 "api unauthorized" — what WeChat's API gateway
  answers for an API the caller may not use; WeCom does not document its answer for a wrong path,
  and a 404 status plus a non-zero errcode makes a typo fail loudly in any client.
- Expired access_token: 42001 (``expired_token_errcode`` in the config switches it to 40014,
  which WeCom sometimes returns instead).
- ``externalcontact/list`` for a member without customers: 84061, as WeCom answers.
- Rate limits: a call over a limit gets 45009 and blocks that API for ``minute_block_s`` (60 s)
  or ``hour_block_s`` (3600 s) from that moment; blocked calls are not counted.
"""

MESSAGES = {
    -1: "system busy",
    0: "ok",
    40001: "invalid credential, access_token is invalid or not latest",
    40013: "invalid corpid",
    40014: "invalid access_token",
    40029: "invalid code",
    40050: "chatid not found",
    40058: "invalid Parameter",
    40068: "invalid tagid",
    40071: "UserTag Name Already Exist",
    40096: "invalid external userid",
    40097: "the member has not resigned",
    40126: "corp tag count reached the limit of 3000",
    40128: "customer transferred too often (at most twice in 90 days)",
    40129: "the customer is already being transferred",
    40130: "handover and takeover are the same member",
    40131: "handover_userid is not a follow user of the external contact",
    41001: "access_token missing",
    41002: "corpid missing",
    41004: "corpsecret missing",
    41008: "auth code missing",
    41009: "userid missing",
    41035: "external_userid missing",
    41037: "contact way type missing",
    41038: "contact way scene missing",
    41039: "invalid contact way type",
    41040: "invalid contact way scene",
    41041: "contact way has too many members (at most 100)",
    41043: "config_id missing",
    41044: "invalid config_id",
    41045: "contact way quota reached",
    41046: "msgid missing",
    41047: "invalid msgid",
    41048: "no customer can be sent to",
    41049: "welcome_code missing",
    41050: "invalid welcome_code",
    41051: "welcome code unusable: expired, already used, or the chat has started",
    41055: "group welcome template count reached the limit",
    42001: "access_token expired",
    44004: "empty content",
    45002: "content size out of limit",
    45009: "api freq out of limit",
    45033: "api concurrent out of limit",
    47001: "data format error",
    48001: "api unauthorized",
    48002: "api forbidden",
    60111: "userid not found",
    60123: "invalid department id",
    84061: "not external contact",
    90500: "the group owner has not resigned",
    90502: "the group owner has resigned",
    90504: "the group owner is unchanged",
    91040: "invalid ticket type",
}


class ApiError(Exception):
    """Raised by an API handler: becomes ``{"errcode": ..., "errmsg": ...}``."""

    def __init__(self, errcode: int, hint: str = ""):
        self.errcode = errcode
        base = MESSAGES.get(errcode, "error")
        self.errmsg = f"{base}, hint: [{hint}]" if hint else base
        super().__init__(self.errmsg)


def error_body(errcode: int, hint: str = "") -> dict:
    err = ApiError(errcode, hint)
    return {"errcode": err.errcode, "errmsg": err.errmsg}
