"""Marking a customer's corp tags in WeCom (externalcontact/mark_tag) for other apps."""

from collections.abc import Sequence

from siyu.wecom.client import sync_client_for
from siyu.wecom.errors import WeComError, WeComTransientError

# The relationship ended (84061) or the customer id is unknown (40096): nothing to mark.
GONE = {84061, 40096}


def customer_tags_mark(corp, *, userid: str, external_userid: str,
                       wecom_tag_ids: Sequence[str]) -> bool:
    """Adds ``wecom_tag_ids`` to the customer's relationship with ``userid`` (WeCom ignores
    tags already there, so a retry is harmless). Returns False when WeCom says the
    relationship, member or tag is gone; transient errors are raised for the job to retry."""
    if not wecom_tag_ids:
        return True
    try:
        sync_client_for(corp).mark_tag(userid, external_userid, add_tag=list(wecom_tag_ids))
    except WeComTransientError:
        raise
    except WeComError as error:
        if error.errcode in GONE:
            return False
        raise
    return True
