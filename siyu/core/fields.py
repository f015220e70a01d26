"""Model fields shared by the apps."""

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models


def _fernet() -> MultiFernet:
    # SIYU_ENCRYPTION_KEY may list several comma-separated keys: the first encrypts, all decrypt,
    # so keys can be rotated without a flag day.
    keys = []
    for raw in str(settings.SIYU_ENCRYPTION_KEY).split(","):
        raw = raw.strip()
        try:
            keys.append(Fernet(raw.encode()))
        except (ValueError, TypeError):
            # Accept any passphrase by deriving a Fernet key from it.
            digest = hashlib.sha256(raw.encode()).digest()
            keys.append(Fernet(base64.urlsafe_b64encode(digest)))
    if not keys:
        raise ImproperlyConfigured("SIYU_ENCRYPTION_KEY is empty")
    return MultiFernet(keys)


def encrypt_text(value: str) -> str:
    return _fernet().encrypt(value.encode()).decode()


def decrypt_text(token: str) -> str:
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise ImproperlyConfigured(
            "A stored secret cannot be decrypted with SIYU_ENCRYPTION_KEY: the key changed? "
            "List the old key after the new one, comma-separated, to rotate."
        ) from exc


class EncryptedTextField(models.TextField):
    """Text encrypted at rest with the settings' key (Fernet: AES-128-CBC + HMAC)."""

    def from_db_value(self, value, expression, connection):
        if value in (None, ""):
            return value
        return decrypt_text(value)

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if value in (None, ""):
            return value
        return encrypt_text(value)
