"""Siyu settings, read from the environment.

Defaults give a safe embedded demo (SQLite under ./var, demo keys, debug on). Production is
``SIYU_DEBUG=0``: it refuses to start with the demo keys.
"""

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("SIYU_VAR_DIR", Path.cwd() / "var")).resolve()


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


DEMO_SECRET_KEY = "siyu-demo-secret-key-not-for-production-use-0000000000"  # noqa: S105
# Fernet key (urlsafe base64 of 32 bytes); used only for the embedded demo.
DEMO_ENCRYPTION_KEY = "c2l5dS1kZW1vLWVuY3J5cHRpb24ta2V5LWRvLW5vdC11c2U="

DEBUG = env_bool("SIYU_DEBUG", True)
SECRET_KEY = os.environ.get("SIYU_SECRET_KEY") or DEMO_SECRET_KEY
SIYU_ENCRYPTION_KEY = os.environ.get("SIYU_ENCRYPTION_KEY") or DEMO_ENCRYPTION_KEY

if not DEBUG:
    if SECRET_KEY == DEMO_SECRET_KEY:
        raise ImproperlyConfigured(
            "SIYU_DEBUG=0 (production) but SIYU_SECRET_KEY is not set: refusing to start with the "
            "demo key. Set SIYU_SECRET_KEY to a long random string."
        )
    if SIYU_ENCRYPTION_KEY == DEMO_ENCRYPTION_KEY:
        raise ImproperlyConfigured(
            "SIYU_DEBUG=0 (production) but SIYU_ENCRYPTION_KEY is not set: refusing to start with "
            "the demo key. Generate one with: python -c \"from cryptography.fernet import Fernet; "
            'print(Fernet.generate_key().decode())"'
        )

_default_hosts = "*" if DEBUG else "localhost,127.0.0.1"
ALLOWED_HOSTS = [
    h.strip() for h in os.environ.get("SIYU_ALLOWED_HOSTS", _default_hosts).split(",") if h.strip()
]
CSRF_TRUSTED_ORIGINS = [
    o.strip() for o in os.environ.get("SIYU_CSRF_TRUSTED_ORIGINS", "").split(",") if o.strip()
]

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "django_tasks",
    "django_tasks_db",
    "siyu.core",
    "siyu.accounts",
    "siyu.tags",
    "siyu.customers",
    "siyu.groups",
    "siyu.wecom",
    "siyu.acquisition",
    "siyu.engagement",
    "siyu.console",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "siyu.urls"
WSGI_APPLICATION = "siyu.wsgi.application"
ASGI_APPLICATION = "siyu.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "siyu.console.context_processors.navigation",
            ],
        },
    },
]


def _database_config() -> dict:
    url = os.environ.get("DATABASE_URL", "").strip()
    if url:
        config = dj_database_url.parse(url, conn_health_checks=True)
    else:
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        config = {"ENGINE": "django.db.backends.sqlite3", "NAME": str(VAR_DIR / "siyu.sqlite3")}
    # Persistent connections: opening one (for SQLite, with its PRAGMAs) costs several queries.
    config["CONN_MAX_AGE"] = int(os.environ.get("SIYU_DB_CONN_MAX_AGE", "60"))
    if config["ENGINE"] == "django.db.backends.sqlite3":
        config.setdefault("OPTIONS", {}).update(
            {
                # WAL lets readers proceed during writes; IMMEDIATE takes the write lock up
                # front so concurrent writers wait (busy timeout) instead of failing to upgrade.
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
                "transaction_mode": "IMMEDIATE",
                "timeout": 30,
            }
        )
        config["TEST"] = {"NAME": str(VAR_DIR / "test-siyu.sqlite3")}
    return config


DATABASES = {"default": _database_config()}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = ["siyu.accounts.auth.CorpUserBackend"]
LOGIN_URL = "console:login"
LOGIN_REDIRECT_URL = "console:home"
LOGOUT_REDIRECT_URL = "console:login"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
     "OPTIONS": {"min_length": 8}},
]
# Repeated failed logins for one username (from any address) lock it for a while.
SIYU_LOGIN_MAX_FAILURES = int(os.environ.get("SIYU_LOGIN_MAX_FAILURES", "5"))
SIYU_LOGIN_LOCK_SECONDS = int(os.environ.get("SIYU_LOGIN_LOCK_SECONDS", "900"))

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("Simplified Chinese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = os.environ.get("SIYU_TIME_ZONE", "Asia/Shanghai")
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
# WhiteNoise warns on every start when its root is missing, even while serving from finders.
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = DEBUG

TASKS = {
    "default": {
        "BACKEND": os.environ.get("SIYU_TASKS_BACKEND", "django_tasks_db.DatabaseBackend"),
        "QUEUES": [],
    }
}
# Seconds without a heartbeat after which a worker is presumed dead and its task re-driven.
SIYU_WORKER_STALE_SECONDS = int(os.environ.get("SIYU_WORKER_STALE_SECONDS", "30"))

# WeCom callbacks: accepted clock skew (and how long nonces are remembered), body size limit,
# and the sweeper that re-drives events whose dispatch never ran or failed for a passing reason.
SIYU_WECOM_CALLBACK_WINDOW_SECONDS = int(os.environ.get("SIYU_WECOM_CALLBACK_WINDOW_SECONDS",
                                                        "300"))
SIYU_WECOM_CALLBACK_MAX_BYTES = int(os.environ.get("SIYU_WECOM_CALLBACK_MAX_BYTES", "65536"))
SIYU_WECOM_SWEEP_EVERY_SECONDS = int(os.environ.get("SIYU_WECOM_SWEEP_EVERY_SECONDS", "15"))
# A dispatch claim older than this is presumed dead (its worker died) and the sweeper takes it
# over. Short, so a killed worker delays an event by about a minute and a half, not minutes;
# handlers are idempotent, so taking over a slow but live dispatch is harmless.
SIYU_WECOM_DISPATCH_LEASE_SECONDS = int(os.environ.get("SIYU_WECOM_DISPATCH_LEASE_SECONDS",
                                                       "90"))
SIYU_WECOM_DISPATCH_MAX_ATTEMPTS = int(os.environ.get("SIYU_WECOM_DISPATCH_MAX_ATTEMPTS", "8"))
# Members per group before a group live code moves on to its next group (B3).
SIYU_GROUP_CODE_MEMBER_LIMIT = int(os.environ.get("SIYU_GROUP_CODE_MEMBER_LIMIT", "200"))
# bench/callbacks.py only: /wecom/bench-bare/<corp_id>/ (verify, decrypt, insert; nothing else).
SIYU_BENCH_BARE_ENDPOINT = env_bool("SIYU_BENCH_BARE_ENDPOINT", False)

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = env_bool("SIYU_SECURE_COOKIES", not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
X_FRAME_OPTIONS = "DENY"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "loggers": {
        "siyu": {"handlers": ["console"], "level": os.environ.get("SIYU_LOG_LEVEL", "INFO")},
        "django_tasks_db": {"handlers": ["console"], "level": "INFO"},
    },
}
