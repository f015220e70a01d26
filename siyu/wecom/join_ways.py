"""Group join ways (加入群聊, used by group live codes) and group welcome templates, in Siyu's
terms.

Callers pass plain values and get plain values back; a refusal by WeCom becomes a
:class:`~siyu.core.errors.Conflict` with WeCom's message, transient errors propagate (the caller
or its job retries), so no other app handles errcodes.
"""

from collections.abc import Sequence

from django.utils.translation import gettext as _

from siyu.core.errors import Conflict
from siyu.wecom.client import sync_client_for
from siyu.wecom.errors import WeComError, WeComTransientError

QR_CODE = 2  # scene: a QR code (1 is a mini-program button)
REMARK_MAX = 30
CHATS_MAX = 5  # chat_id_list of one join way
ROOM_BASE_NAME_MAX = 40
TEMPLATE_MEDIA = ("image", "link", "miniprogram", "file", "video")
# del_join_way on a config_id WeCom no longer has: already gone, which is what we wanted.
ALREADY_GONE = frozenset({41044})


def _join_way_refused(error: WeComError) -> Conflict:
    return Conflict(
        _("WeCom refused the group join way: %(message)s (errcode %(code)s).")
        % {"message": error.errmsg, "code": error.errcode}
    )


def _template_refused(error: WeComError) -> Conflict:
    return Conflict(
        _("WeCom refused the group welcome message: %(message)s (errcode %(code)s).")
        % {"message": error.errmsg, "code": error.errcode}
    )


def join_way_push(*, corp, config_id: str, state: str, chat_ids: Sequence[str], remark: str,
                  auto_create_room: bool, room_base_name: str = "",
                  room_base_id: int | None = None) -> dict:
    """Create the join way (no ``config_id`` yet) or point the existing one at ``chat_ids``
    (at most 5, in the order WeCom fills them). Returns ``{"config_id", "qr_code"}``;
    ``qr_code`` is empty on update: it does not change.

    ``auto_create_room`` is always sent: WeCom's default is to create rooms."""
    chat_ids = list(chat_ids)
    if not chat_ids or len(chat_ids) > CHATS_MAX:
        raise ValueError(f"A join way lists 1 to {CHATS_MAX} groups, not {len(chat_ids)}.")
    options = {"scene": QR_CODE, "chat_id_list": chat_ids, "state": state,
               "remark": remark[:REMARK_MAX], "auto_create_room": 1 if auto_create_room else 0}
    if auto_create_room:
        options["room_base_name"] = room_base_name[:ROOM_BASE_NAME_MAX]
        options["room_base_id"] = room_base_id
    wecom = sync_client_for(corp)
    try:
        if config_id:
            wecom.update_join_way(config_id, **options)
            return {"config_id": config_id, "qr_code": ""}
        config_id = wecom.add_join_way(**options)["config_id"]
    except WeComTransientError:
        raise
    except WeComError as error:
        raise _join_way_refused(error) from error
    # add_join_way answers only the config_id; the QR code comes from get_join_way.
    try:
        qr_code = wecom.get_join_way(config_id).get("join_way", {}).get("qr_code", "")
    except BaseException:
        join_way_delete(corp=corp, config_id=config_id)
        raise
    return {"config_id": config_id, "qr_code": qr_code}


def join_way_delete(*, corp, config_id: str) -> None:
    if not config_id:
        return
    try:
        sync_client_for(corp).del_join_way(config_id)
    except WeComTransientError:
        raise
    except WeComError as error:
        if error.errcode not in ALREADY_GONE:
            raise _join_way_refused(error) from error


def _template_parts(text: str, attachment: dict | None) -> dict:
    """WeCom's template body: ``text`` plus at most one of image/link/miniprogram/file/video,
    from Siyu's attachment shape ``{"msgtype": kind, kind: {...}}``."""
    parts = {}
    if text:
        parts["text"] = text
    if attachment:
        kind = attachment.get("msgtype")
        if kind not in TEMPLATE_MEDIA:
            raise ValueError(f"Unknown group welcome attachment type {kind!r}.")
        parts[kind] = dict(attachment[kind])
    if not parts:
        raise ValueError("A group welcome template needs text or an attachment.")
    return parts


def group_welcome_push(*, corp, template_id: str, text: str,
                       attachment: dict | None = None) -> str:
    """Create the group welcome template (no ``template_id`` yet) or replace its content.
    Returns the template id."""
    parts = _template_parts(text, attachment)
    wecom = sync_client_for(corp)
    try:
        if template_id:
            wecom.group_welcome_template_edit(template_id, **parts)
            return template_id
        return wecom.group_welcome_template_add(**parts)["template_id"]
    except WeComTransientError:
        raise
    except WeComError as error:
        raise _template_refused(error) from error


def group_welcome_delete(*, corp, template_id: str) -> None:
    if not template_id:
        return
    try:
        sync_client_for(corp).group_welcome_template_del(template_id)
    except WeComTransientError:
        raise
    except WeComError as error:
        raise _template_refused(error) from error
