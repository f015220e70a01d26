"""Build and send WeCom callbacks the way WeCom does, for the ingress and dispatch tests."""

import itertools
import time

from siyu.wecom.crypto import WeComCrypto

_nonces = itertools.count(100000)


def event_xml(corp_id: str, *, create_time: int | None = None, **fields) -> str:
    """A decrypted callback: envelope fields plus ``fields`` (lists become <Item>s)."""
    parts = [f"<ToUserName><![CDATA[{corp_id}]]></ToUserName>",
             "<FromUserName><![CDATA[sys]]></FromUserName>",
             f"<CreateTime>{create_time or int(time.time())}</CreateTime>",
             "<MsgType><![CDATA[event]]></MsgType>"]
    for name, value in fields.items():
        if isinstance(value, list | tuple):
            items = "".join(f"<Item><![CDATA[{item}]]></Item>" for item in value)
            parts.append(f"<{name}>{items}</{name}>")
        else:
            parts.append(f"<{name}><![CDATA[{value}]]></{name}>")
    return "<xml>" + "".join(parts) + "</xml>"


def contact_xml(corp_id: str, change_type: str = "add_external_contact", *,
                userid: str = "zhangsan", external_userid: str = "wmEXT001", **extra) -> str:
    return event_xml(corp_id, Event="change_external_contact", ChangeType=change_type,
                     UserID=userid, ExternalUserID=external_userid, **extra)


def crypto_for_corp(corp) -> WeComCrypto:
    return WeComCrypto(corp.callback_token, corp.encoding_aes_key, corp.corp_id)


def signed_request(corp, xml: str, *, timestamp=None, nonce=None) -> tuple[str, bytes]:
    """(query string, body) of a POST that WeCom would send for ``xml``."""
    timestamp = str(int(time.time()) if timestamp is None else timestamp)
    nonce = str(next(_nonces) if nonce is None else nonce)
    body, signature = crypto_for_corp(corp).encrypted_body(xml, timestamp, nonce)
    query = f"msg_signature={signature}&timestamp={timestamp}&nonce={nonce}"
    return query, body.encode()


def callback_url(corp_id: str) -> str:
    return f"/wecom/callback/{corp_id}/"


def post_callback(client, corp, xml: str, **kwargs):
    query, body = signed_request(corp, xml, **kwargs)
    return post_raw(client, corp.corp_id, query, body)


def post_raw(client, corp_id: str, query: str, body: bytes):
    return client.generic("POST", f"{callback_url(corp_id)}?{query}", body,
                          content_type="text/xml")
