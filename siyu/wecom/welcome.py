"""The WeCom side of welcome messages, for the engagement app: the facts of a stored add
event and sending with its WelcomeCode. Keeps WeCom specifics (payload fields, the client,
errcodes) inside siyu.wecom."""

from dataclasses import dataclass

from siyu.wecom.errors import WeComError
from siyu.wecom.models import WeComEvent

# What WeCom's errcodes mean for an operator reading a failed welcome.
_REASONS = {
    41051: "41051 welcome code expired or used",
    41050: "41050 welcome code invalid",
    41049: "41049 welcome code missing",
    41096: "41096 another app is sending the welcome message",
}


@dataclass(frozen=True)
class AddEvent:
    event_id: int
    dedupe_key: str
    create_time: int  # WeCom's CreateTime, seconds since the epoch
    userid: str
    external_userid: str
    welcome_code: str
    state: str


class WelcomeRejected(Exception):
    """WeCom did not send the welcome; ``reason`` is meant for the operator."""

    def __init__(self, errcode: int | None, reason: str):
        self.errcode, self.reason = errcode, reason
        super().__init__(reason)


def add_event(corp, event_id: int) -> AddEvent | None:
    """The add_external_contact (or add_half) event ``event_id`` of ``corp``; None if absent."""
    event = WeComEvent.objects.for_corp(corp).filter(pk=event_id).first()
    return add_event_of(event) if event is not None else None


def welcome_message_send(corp, *, welcome_code: str, text: str, attachments: list) -> None:
    """Sends once through the corp's client; raises WelcomeRejected on any WeCom error."""
    from siyu.wecom.client import sync_client_for

    try:
        sync_client_for(corp).send_welcome_msg(welcome_code, text=text or None,
                                               attachments=attachments)
    except WeComError as error:
        raise WelcomeRejected(error.errcode, rejection_reason(error)) from error


def rejection_reason(error: WeComError) -> str:
    return (_REASONS.get(error.errcode) or f"{error.errcode} {error.errmsg}")[:255]


def add_event_of(event: WeComEvent) -> AddEvent:
    payload = event.payload or {}
    return AddEvent(event_id=event.pk, dedupe_key=event.dedupe_key,
                    create_time=int(event.create_time or payload.get("CreateTime") or 0),
                    userid=str(payload.get("UserID") or ""),
                    external_userid=str(payload.get("ExternalUserID") or ""),
                    welcome_code=str(payload.get("WelcomeCode") or ""),
                    state=str(payload.get("State") or ""))
