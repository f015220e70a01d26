"""WXBizMsgCrypt: published vectors, our own vectors, round trips, and malformed input."""

import base64
import hashlib
import struct

import pytest
from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from hypothesis import given, settings
from hypothesis import strategies as st

from siyu.wecom.crypto import CryptoError, WeComCrypto

# wechatpy's vectors, as quoted in docs wecom-api.md §2.
WX_TOKEN = "123456"
WX_AES_KEY = "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR"
WX_RECEIVE_ID = "wx49f0ab532d5d035a"
WX_GET = {
    "msg_signature": "dd6b9c95b495b3f7e2901bfbc76c664930ffdb96",
    "timestamp": "1411443780",
    "nonce": "437374425",
    "echostr": ("4ByGGj+sVCYcvGeQYhaKIk1o0pQRNbRjxybjTGblXrBaXlTXeOo1+bXFXDQQb1o6co6Yh9Bv41n7hOch"
                "LF6p+Q=="),
}
WX_POST_ENCRYPT = (
    "RgqEoJj5A4EMYlLvWO1F86ioRjZfaex/gePD0gOXTxpsq5Yj4GNglrBb8I2BAJVODGajiFnXBu7mCPatfjsu6IHCrsTy"
    "eDXzF6Bv283dGymzxh6ydJRvZsryDyZbLTE7rhnus50qGPMfp2wASFlzEgMW9z1ef/RD8XzaFYgm7iTdaXpXaG4+BiYy"
    "olBug/gYNx410cvkKR2/nPwBiT+P4hIiOAQqGp/TywZBtDh1yCF2KOd0gpiMZ5jSw3e29mTvmUHzkVQiMS6td7vXUaWO"
    "MZnYZlF3So2SjHnwh4jYFxdgpkHHqIrH/54SNdshoQgWYEvccTKe7FS709/5t6NMxuGhcUGAPOQipvWTT4dShyqio7ml"
    "sl5noTrb++x6En749zCpQVhDpbV6GDnTbcX2e8K9QaNWHp91eBdCRxthuL0="
)
WX_POST = {"msg_signature": "74d92dfeb87ba7c714f89d98870ae5eb62dff26d",
           "timestamp": "1411525903", "nonce": "461056294"}

# Our own vectors: fixed random prefix, so the output is pinned.
OWN_TOKEN = "siyu-token"
OWN_AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
OWN_RECEIVE_ID = "wwsiyutest0001"
OWN_VECTORS = [
    ("<xml><Event>测试 🎉</Event></xml>", "1234567890", "1700000000", b"0123456789abcdef",
     "Q3stYC6hdFzMh9T8HCvyDDBT/PmNR37sQdSCEn7EgNPL/BExRMP+GWqezXZLjbwyZuZUAhKacMiK99ZTtBqrK41Evm"
     "GViTme8yYmAYNp8lLiVL75tnhJJNHg9Fbt4Qtp",
     "48a800ede0519f7726e2e90f528700f96bb24695"),
    ("hello", "42", "1700000001", bytes(16),
     "sLR/n4SbHXvKAdlBki8FGNPdMOmSySB5jscpC2gE7KQH2k2npk5Uop99aboE9B834bkkVVF7N+fN2KHVARxOeA==",
     "ead618f8636082ef736cde44340e33b927b7a967"),
]


def wx() -> WeComCrypto:
    return WeComCrypto(WX_TOKEN, WX_AES_KEY, WX_RECEIVE_ID)


def own() -> WeComCrypto:
    return WeComCrypto(OWN_TOKEN, OWN_AES_KEY, OWN_RECEIVE_ID)


def wx_post_body(encrypt=WX_POST_ENCRYPT) -> bytes:
    return (f"<xml><ToUserName><![CDATA[{WX_RECEIVE_ID}]]></ToUserName>"
            f"<Encrypt><![CDATA[{encrypt}]]></Encrypt>"
            f"<AgentID><![CDATA[218]]></AgentID></xml>").encode()


def raw_encrypt(aes_key: str, data: bytes) -> str:
    """AES-256-CBC with WeCom's key and IV over ``data`` as given (no padding added)."""
    key = base64.b64decode(aes_key + "=")
    encryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    return base64.b64encode(encryptor.update(data) + encryptor.finalize()).decode()


def raw_decrypt(aes_key: str, encrypt_b64: str) -> bytes:
    key = base64.b64decode(aes_key + "=")
    decryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).decryptor()
    return decryptor.update(base64.b64decode(encrypt_b64)) + decryptor.finalize()


def framed(msg: bytes, receive_id: bytes = OWN_RECEIVE_ID.encode()) -> bytes:
    return bytes(16) + struct.pack(">I", len(msg)) + msg + receive_id


def reason_of(call) -> str:
    with pytest.raises(CryptoError) as info:
        call()
    assert info.value.message
    return info.value.reason


# --- published vectors -------------------------------------------------------------------------

def test_wechatpy_get_vector_verifies_and_decrypts_to_the_echostr():
    assert wx().verify_url(**WX_GET) == "5927782489442352469"


def test_wechatpy_post_vector_verifies_and_decrypts():
    xml = wx().decrypt_message(WX_POST["msg_signature"], WX_POST["timestamp"], WX_POST["nonce"],
                               wx_post_body())
    assert "<Content><![CDATA[test]]></Content>" in xml
    assert "<FromUserName><![CDATA[messense]]></FromUserName>" in xml


def test_wechatpy_signatures_match_sha1_of_sorted_parts():
    assert wx().signature(WX_POST["timestamp"], WX_POST["nonce"], WX_POST_ENCRYPT) == \
        WX_POST["msg_signature"]
    parts = sorted([WX_TOKEN, WX_GET["timestamp"], WX_GET["nonce"], WX_GET["echostr"]])
    digest = hashlib.sha1("".join(parts).encode()).hexdigest()  # noqa: S324 (WeCom's scheme)
    assert digest == WX_GET["msg_signature"]


# --- our own vectors ---------------------------------------------------------------------------

@pytest.mark.parametrize(("plaintext", "nonce", "timestamp", "prefix", "encrypt", "signature"),
                         OWN_VECTORS)
def test_own_vectors_are_reproduced_exactly(plaintext, nonce, timestamp, prefix, encrypt,
                                            signature):
    assert own().encrypt(plaintext, nonce, timestamp, random_prefix=prefix) == \
        (encrypt, signature, timestamp, nonce)
    assert own().decrypt(encrypt) == plaintext


@pytest.mark.parametrize("vector", OWN_VECTORS)
def test_own_vectors_decrypt_with_a_plain_pkcs7_32_byte_implementation(vector):
    plaintext, _nonce, _ts, prefix, encrypt, _sig = vector
    unpadder = padding.PKCS7(256).unpadder()
    data = unpadder.update(raw_decrypt(OWN_AES_KEY, encrypt)) + unpadder.finalize()
    assert data == framed(plaintext.encode()).replace(bytes(16), prefix, 1)


def test_encrypted_body_is_what_decrypt_message_accepts():
    crypto = own()
    body, signature = crypto.encrypted_body("<xml><A>1</A></xml>", "1700000000", "nonce-1")
    assert f"<ToUserName><![CDATA[{OWN_RECEIVE_ID}]]></ToUserName>" in body
    assert crypto.decrypt_message(signature, "1700000000", "nonce-1", body.encode()) == \
        "<xml><A>1</A></xml>"


def test_encrypt_makes_up_timestamp_and_nonce_and_random_prefix():
    first = own().encrypt("same text")
    second = own().encrypt("same text")
    assert first[0] != second[0]  # fresh random prefix each time
    assert first[2].isdigit() and first[3].isdigit()


# --- round trips -------------------------------------------------------------------------------

MULTIBYTE = st.text(alphabet=st.sampled_from("aZ09 <>&\"'\n中文企业微信客户群标签🎉😀👍🏽é\u0000"),
                    max_size=300)


@settings(max_examples=200, deadline=None)
@given(text=MULTIBYTE | st.text(max_size=200))
def test_round_trip_of_any_text(text):
    crypto = own()
    encrypt, signature, timestamp, nonce = crypto.encrypt(text)
    assert crypto.decrypt(encrypt) == text
    crypto.check_signature(signature, timestamp, nonce, encrypt)


@settings(max_examples=50, deadline=None)
@given(receive_id=st.text(min_size=1, max_size=40), text=MULTIBYTE)
def test_round_trip_of_any_receive_id(receive_id, text):
    crypto = WeComCrypto(OWN_TOKEN, OWN_AES_KEY, receive_id)
    assert crypto.decrypt(crypto.encrypt(text)[0]) == text


@pytest.mark.parametrize("pad", range(1, 33))
def test_every_padding_length_round_trips(pad):
    fixed = 16 + 4 + len(OWN_RECEIVE_ID)
    # "中" is 3 bytes; fill the rest with ASCII so the framed length hits the wanted pad.
    target_len = (-pad - fixed - 3) % 32 + 32
    text = "中" + "x" * target_len
    encrypt = own().encrypt(text)[0]
    raw = raw_decrypt(OWN_AES_KEY, encrypt)
    assert raw[-1] == pad and raw[-pad:] == bytes([pad]) * pad
    assert len(raw) % 32 == 0
    assert own().decrypt(encrypt) == text


# --- malformed input ---------------------------------------------------------------------------

def test_wrong_signature():
    crypto = own()
    encrypt, signature, timestamp, nonce = crypto.encrypt("x")
    assert reason_of(lambda: crypto.check_signature("0" * 40, timestamp, nonce, encrypt)) == \
        "bad_signature"
    assert reason_of(lambda: crypto.check_signature(signature, timestamp, "other", encrypt)) == \
        "bad_signature"
    other = WeComCrypto("another-token", OWN_AES_KEY, OWN_RECEIVE_ID)
    assert reason_of(lambda: other.check_signature(signature, timestamp, nonce, encrypt)) == \
        "bad_signature"


def test_wrong_signature_on_the_wechatpy_get_vector():
    query = {**WX_GET, "msg_signature": WX_GET["msg_signature"].replace("d", "e", 1)}
    assert reason_of(lambda: wx().verify_url(**query)) == "bad_signature"


@pytest.mark.parametrize("text", ["not base64 at all!", "QUJD=x==", "\u4e2d\u6587"])
def test_bad_base64(text):
    assert reason_of(lambda: own().decrypt(text)) == "bad_base64"


@pytest.mark.parametrize("length", [0, 16, 31, 48])
def test_ciphertext_not_a_multiple_of_32_bytes(length):
    assert reason_of(lambda: own().decrypt(base64.b64encode(bytes(length)).decode())) == \
        "bad_length"


def test_truncated_ciphertext():
    encrypt = own().encrypt("a message long enough for several blocks " * 4)[0]
    cut = base64.b64encode(base64.b64decode(encrypt)[:-32]).decode()
    assert reason_of(lambda: own().decrypt(cut)) in {"bad_padding", "bad_length"}
    assert reason_of(lambda: own().decrypt(encrypt[:-5])) == "bad_base64"


@pytest.mark.parametrize("tail", [bytes([0]) * 32, bytes([33]) * 32, bytes(31) + bytes([5]),
                                  bytes(29) + bytes([4, 3, 3])])
def test_wrong_padding(tail):
    data = framed(b"<xml/>")
    data = data + b"-" * ((-len(data)) % 32) + tail
    assert reason_of(lambda: own().decrypt(raw_encrypt(OWN_AES_KEY, data))) == "bad_padding"


def test_wrong_key_fails_on_padding_not_silently():
    encrypt = own().encrypt("secret")[0]
    other = WeComCrypto(OWN_TOKEN, WX_AES_KEY, OWN_RECEIVE_ID)
    assert reason_of(lambda: other.decrypt(encrypt)) in {"bad_padding", "bad_length",
                                                          "bad_receiveid", "bad_encoding"}


def test_wrong_receive_id():
    encrypt = WeComCrypto(OWN_TOKEN, OWN_AES_KEY, "wwsomeoneelse").encrypt("hi")[0]
    assert reason_of(lambda: own().decrypt(encrypt)) == "bad_receiveid"


def test_length_field_beyond_the_message():
    data = bytes(16) + struct.pack(">I", 10_000) + b"<xml/>" + OWN_RECEIVE_ID.encode()
    unpadded = padding.PKCS7(256).padder()
    data = unpadded.update(data) + unpadded.finalize()
    assert reason_of(lambda: own().decrypt(raw_encrypt(OWN_AES_KEY, data))) == "bad_length"


def test_message_shorter_than_the_frame():
    data = bytes(10) + bytes([22]) * 22
    assert reason_of(lambda: own().decrypt(raw_encrypt(OWN_AES_KEY, data))) == "bad_length"


def test_message_that_is_not_utf8():
    padder = padding.PKCS7(256).padder()
    data = padder.update(framed(b"\xff\xfe\xfd")) + padder.finalize()
    assert reason_of(lambda: own().decrypt(raw_encrypt(OWN_AES_KEY, data))) == "bad_encoding"


def test_oversized_body_is_refused_before_parsing():
    bomb = b"<!DOCTYPE x [<!ENTITY a 'a'>]><xml>" + b"x" * 100 + b"</xml>"
    assert reason_of(lambda: own().decrypt_message("s", "1", "n", bomb, max_bytes=64)) == \
        "too_large"


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<xml><Encrypt>&lol4;</Encrypt></xml>"""
EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE xml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<xml><Encrypt>&xxe;</Encrypt></xml>"""


@pytest.mark.parametrize("body", [BILLION_LAUGHS, EXTERNAL_ENTITY, b"<xml><Encrypt>abc",
                                  b"", b"not xml", b"<xml><ToUserName/></xml>"])
def test_bad_or_hostile_envelopes(body):
    assert reason_of(lambda: own().decrypt_message("s", "1", "n", body)) == "bad_xml"


@pytest.mark.parametrize(("token", "key"), [("", OWN_AES_KEY), ("t", "short"),
                                            ("t", "!" * 43)])
def test_unusable_configuration(token, key):
    assert reason_of(lambda: WeComCrypto(token, key, OWN_RECEIVE_ID)) == "bad_key"
