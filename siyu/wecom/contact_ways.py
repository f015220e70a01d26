"""「联系我」contact ways for other apps (channel live codes), in Siyu's terms.

Callers pass plain values and get plain values back; a refusal by WeCom becomes a
:class:`~siyu.core.errors.Conflict` with WeCom's message, so no other app handles errcodes.
"""

from collections.abc import Sequence

from django.utils.translation import gettext as _

from siyu.core.errors import Conflict
from siyu.wecom.client import sync_client_for
from siyu.wecom.errors import WeComError, WeComTransientError

MULTI_USER = 2  # contact way type: several users, WeCom spreads scans among them
QR_CODE = 2  # scene: a QR code (1 is a mini-program button)
REMARK_MAX = 30
# del_contact_way on a config_id WeCom no longer has: already gone, which is what we wanted.
ALREADY_GONE = frozenset({41044})


def _refused(error: WeComError) -> Conflict:
    return Conflict(
        _("WeCom refused the contact way: %(message)s (errcode %(code)s).")
        % {"message": error.errmsg, "code": error.errcode}
    )


def contact_way_push(*, corp, config_id: str, state: str, userids: Sequence[str],
                     skip_verify: bool, remark: str) -> dict:
    """Create the contact way (no ``config_id`` yet) or point the existing one at ``userids``.
    Returns ``{"config_id", "qr_code"}`` (``qr_code`` empty on update: it does not change)."""
    wecom = sync_client_for(corp)
    try:
        if not config_id:
            answer = wecom.add_contact_way(type=MULTI_USER, scene=QR_CODE, state=state,
                                           user=list(userids), skip_verify=skip_verify,
                                           remark=remark[:REMARK_MAX])
            return {"config_id": answer["config_id"], "qr_code": answer.get("qr_code", "")}
        wecom.update_contact_way(config_id, state=state, user=list(userids),
                                 skip_verify=skip_verify, remark=remark[:REMARK_MAX])
        return {"config_id": config_id, "qr_code": ""}
    except WeComTransientError:
        raise
    except WeComError as error:
        raise _refused(error) from error


def contact_way_delete(*, corp, config_id: str) -> None:
    if not config_id:
        return
    try:
        sync_client_for(corp).del_contact_way(config_id)
    except WeComTransientError:
        raise
    except WeComError as error:
        if error.errcode not in ALREADY_GONE:
            raise _refused(error) from error
