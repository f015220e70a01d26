"""Authentication: password login with throttling, session users, API bearer tokens."""

import hashlib
import secrets
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.backends import ModelBackend
from django.utils import timezone

from siyu.accounts.models import ApiToken, LoginAttempt, User

TOKEN_PREFIX = "siyu_"  # noqa: S105 - a public marker, not a secret


class CorpUserBackend(ModelBackend):
    """ModelBackend that looks users up across corps (a login comes before any corp is known)."""

    def get_user(self, user_id):
        try:
            user = User.objects.unscoped().select_related("corp", "employee").get(pk=user_id)
        except User.DoesNotExist:
            return None
        return user if self.user_can_authenticate(user) else None

    def user_can_authenticate(self, user):
        if not super().user_can_authenticate(user):
            return False
        return user.corp is None or user.corp.is_active


def login_locked_until(username: str):
    """When a username locked by repeated failures may try again, or None if it may now."""
    window = timedelta(seconds=settings.SIYU_LOGIN_LOCK_SECONDS)
    since = timezone.now() - window
    recent = list(
        LoginAttempt.objects.filter(username=username, created_at__gte=since)
        .order_by("-created_at")
        .values_list("succeeded", "created_at")[: settings.SIYU_LOGIN_MAX_FAILURES]
    )
    if len(recent) < settings.SIYU_LOGIN_MAX_FAILURES or any(ok for ok, _ in recent):
        return None
    return recent[0][1] + window


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def generate_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def user_for_token(raw: str) -> User | None:
    if not raw or not raw.startswith(TOKEN_PREFIX) or len(raw) > 200:
        return None
    token = (
        ApiToken.objects.unscoped()
        .select_related("user", "user__corp", "user__employee")
        .filter(token_hash=hash_token(raw), revoked_at__isnull=True)
        .first()
    )
    if token is None:
        return None
    user = token.user
    if not user.is_active or user.corp_id != token.corp_id or not user.corp.is_active:
        return None
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at > timedelta(minutes=1):
        ApiToken.objects.unscoped().filter(pk=token.pk).update(last_used_at=now)
    return user
