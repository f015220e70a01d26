"""WeCom callback crypto (WXBizMsgCrypt), per docs wecom-api.md §2.

* key: ``base64decode(EncodingAESKey + "=")`` (43 characters → 32 bytes);
* AES-256-CBC with ``IV = key[:16]``, PKCS#7 padding to **32-byte** blocks (pad 1..32);
* plaintext: ``random 16 bytes ‖ uint32 big-endian len(msg) ‖ msg (UTF-8) ‖ receiveid``;
* signature: ``sha1("".join(sorted([token, timestamp, nonce, encrypt]))).hexdigest()``.

Every failure raises :class:`CryptoError` with a machine ``reason`` so the callback view can
answer a precise 4xx and log why. The simulator imports this module to sign its callbacks.
"""

import base64
import binascii
import hashlib
import hmac
import os
import secrets
import struct
import time

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from defusedxml import ElementTree
from defusedxml.common import DefusedXmlException

BLOCK = 32  # WeCom pads to 32 bytes, not AES's 16
RANDOM_PREFIX = 16
DEFAULT_MAX_BODY_BYTES = 64 * 1024


class CryptoError(ValueError):
    """A callback that cannot be verified or decrypted. ``reason`` is one of:
    bad_signature, bad_base64, bad_padding, bad_receiveid, bad_length, bad_encoding, bad_xml,
    too_large, bad_key."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason
        self.message = message


def _pkcs7_pad(data: bytes) -> bytes:
    pad = BLOCK - len(data) % BLOCK
    return data + bytes([pad]) * pad


def _pkcs7_unpad(data: bytes) -> bytes:
    pad = data[-1]
    if not 1 <= pad <= BLOCK or data[-pad:] != bytes([pad]) * pad:
        raise CryptoError("bad_padding", "The decrypted message has invalid padding.")
    return data[:-pad]


def parse_xml(data: bytes | str):
    """Parse untrusted XML; DTDs, entities and external references are refused (XML bombs)."""
    try:
        return ElementTree.fromstring(data, forbid_dtd=True, forbid_entities=True,
                                      forbid_external=True)
    except DefusedXmlException as exc:
        raise CryptoError("bad_xml", f"The XML uses a forbidden construct "
                                     f"({type(exc).__name__}).") from exc
    except ElementTree.ParseError as exc:
        raise CryptoError("bad_xml", f"The XML cannot be parsed: {exc}.") from exc


class WeComCrypto:
    def __init__(self, token: str, encoding_aes_key: str, receive_id: str):
        if not token:
            raise CryptoError("bad_key", "The callback token is empty.")
        if len(encoding_aes_key or "") != 43:
            raise CryptoError("bad_key", "The EncodingAESKey must be 43 characters long.")
        try:
            key = base64.b64decode(encoding_aes_key + "=", validate=True)
        except (binascii.Error, ValueError) as exc:
            raise CryptoError("bad_key", "The EncodingAESKey is not valid base64.") from exc
        self.token = token
        self.key = key
        self.receive_id = receive_id
        self._receive_id_bytes = receive_id.encode()
        self._cipher = Cipher(algorithms.AES(key), modes.CBC(key[:16]))

    # -- signature -------------------------------------------------------------------------
    def signature(self, timestamp, nonce, encrypt: str) -> str:
        parts = sorted([self.token, str(timestamp), str(nonce), encrypt])
        return hashlib.sha1("".join(parts).encode()).hexdigest()  # noqa: S324 (WeCom's scheme)

    def check_signature(self, msg_signature: str, timestamp, nonce, encrypt: str) -> None:
        expected = self.signature(timestamp, nonce, encrypt)
        if not hmac.compare_digest(expected.encode(), (msg_signature or "").lower().encode()):
            raise CryptoError("bad_signature", "The message signature does not match.")

    # -- encrypt / decrypt -----------------------------------------------------------------
    def encrypt(self, plaintext: str, nonce=None, timestamp=None, *,
                random_prefix: bytes | None = None) -> tuple[str, str, str, str]:
        """(encrypt_b64, signature, timestamp, nonce); timestamp and nonce are made up when
        not given. ``random_prefix`` (16 bytes) makes output deterministic for tests."""
        prefix = os.urandom(RANDOM_PREFIX) if random_prefix is None else random_prefix
        if len(prefix) != RANDOM_PREFIX:
            raise ValueError("random_prefix must be 16 bytes.")
        msg = plaintext.encode()
        data = _pkcs7_pad(prefix + struct.pack(">I", len(msg)) + msg + self._receive_id_bytes)
        encryptor = self._cipher.encryptor()
        encrypt_b64 = base64.b64encode(encryptor.update(data) + encryptor.finalize()).decode()
        timestamp = str(int(time.time()) if timestamp is None else timestamp)
        nonce = str(secrets.randbelow(10**10) if nonce is None else nonce)
        return encrypt_b64, self.signature(timestamp, nonce, encrypt_b64), timestamp, nonce

    def decrypt(self, encrypt_b64: str) -> str:
        try:
            ciphertext = base64.b64decode(encrypt_b64, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise CryptoError("bad_base64", "The encrypted message is not valid base64.") from exc
        if not ciphertext or len(ciphertext) % BLOCK:
            raise CryptoError("bad_length", f"The encrypted message is {len(ciphertext)} bytes, "
                                            f"not a positive multiple of {BLOCK}.")
        decryptor = self._cipher.decryptor()
        data = _pkcs7_unpad(decryptor.update(ciphertext) + decryptor.finalize())
        if len(data) < RANDOM_PREFIX + 4:
            raise CryptoError("bad_length", "The decrypted message is too short.")
        (length,) = struct.unpack(">I", data[RANDOM_PREFIX:RANDOM_PREFIX + 4])
        start = RANDOM_PREFIX + 4
        if start + length > len(data):
            raise CryptoError("bad_length", "The decrypted message is shorter than its length "
                                            "field says.")
        msg, receive_id = data[start:start + length], data[start + length:]
        if receive_id != self._receive_id_bytes:
            raise CryptoError("bad_receiveid", "The message was encrypted for another "
                                               "receiver (CorpID).")
        try:
            return msg.decode()
        except UnicodeDecodeError as exc:
            raise CryptoError("bad_encoding", "The decrypted message is not UTF-8.") from exc

    # -- the two callback shapes -----------------------------------------------------------
    def verify_url(self, msg_signature: str, timestamp, nonce, echostr: str) -> str:
        """URL verification (GET): the bare decrypted echostr."""
        self.check_signature(msg_signature, timestamp, nonce, echostr)
        return self.decrypt(echostr)

    def decrypt_message(self, msg_signature: str, timestamp, nonce, body_xml: bytes, *,
                        max_bytes: int = DEFAULT_MAX_BODY_BYTES) -> str:
        """Verify and decrypt a POSTed event body; returns the decrypted XML text."""
        if len(body_xml) > max_bytes:
            raise CryptoError("too_large", f"The body is larger than {max_bytes} bytes.")
        envelope = parse_xml(body_xml)
        encrypt = envelope.findtext("Encrypt")
        if not encrypt:
            raise CryptoError("bad_xml", "The body has no Encrypt element.")
        encrypt = encrypt.strip()
        self.check_signature(msg_signature, timestamp, nonce, encrypt)
        return self.decrypt(encrypt)

    def encrypted_body(self, plaintext_xml: str, timestamp, nonce) -> tuple[str, str]:
        """(body_xml, msg_signature): what WeCom POSTs for ``plaintext_xml``."""
        encrypt_b64, signature, _ts, _nonce = self.encrypt(plaintext_xml, nonce, timestamp)
        body = (f"<xml><ToUserName><![CDATA[{self.receive_id}]]></ToUserName>"
                f"<Encrypt><![CDATA[{encrypt_b64}]]></Encrypt>"
                f"<AgentID><![CDATA[]]></AgentID></xml>")
        return body, signature
