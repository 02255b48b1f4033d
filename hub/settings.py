"""Django's settings for the hub, all from the environment (hub/environment.py).

DEBUG is off unless HUB_DEBUG=1. The secret key is read from the data directory; the
protocol's views never need it (they are signed with each device's own secret), and
`hub serve` refuses to start without it, so the panel to come never runs with an empty key.
"""

from __future__ import annotations

import os
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from hub.environment import EnvironmentProblem, HubEnvironment, database_settings, read_secret_key

try:
    HUB = HubEnvironment.read()
except EnvironmentProblem as exc:
    raise ImproperlyConfigured(str(exc)) from exc

DEBUG = HUB.debug
SECRET_KEY = read_secret_key(HUB.secret_key_file)
ALLOWED_HOSTS = HUB.allowed_hosts
DATABASES = {"default": database_settings(HUB.database_url, HUB.pool_max)}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# The peers whose X-Forwarded-For names the source of an enrollment attempt.
HUB_TRUSTED_PROXIES = HUB.trusted_proxies

INSTALLED_APPS = [
    # Users (the chain's owner today; staff and roles with the panel), with their
    # password hashing, from the framework rather than rewritten.
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "django.contrib.staticfiles",
    # TOTP two-factor for the panel: django-otp and its TOTP plugin, a well-kept Django
    # package (login integration, per-device throttling, replay refusal) rather than
    # hand-written RFC 6238.
    "django_otp",
    "django_otp.plugins.otp_totp",
    "hub.devices",
    "hub.members",
    "hub.ledger",
    "hub.feed",
    "hub.flags",
    "hub.program",
    "hub.audit",
    "hub.panel",
    # Codes sent to a phone before a kiosk enrolls it or links a card (issue 17).
    "hub.verification",
    # Shoppers' ratings of their visits, pushed by the kiosks (issue 20).
    "hub.feedback",
    # SMS to members from a durable outbox (docs/messaging.md).
    "hub.messaging",
    # Webhooks and the read API for the chain's own CRM (docs/integration.md).
    "hub.integration",
    # The rollups the panel's figures are read from (hub/insights/models.py).
    "hub.insights",
    # The member's own page on their phone, under /club/ (docs/club.md).
    "hub.club",
]
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # The CSP and no-store for the panel's pages (hub/panel/middleware.py).
    "hub.panel.middleware.SecurityHeaders",
    # The panel's static files (its style sheet, the Vazirmatn font) served by the hub
    # itself, cached and compressed: whitenoise, so that no web server or CDN is needed
    # (many shops' networks are closed); read from the installed package's folders
    # (WHITENOISE_USE_FINDERS), so there is no collectstatic step on a server.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # The protocol lets a kiosk ask for gzip (Accept-Encoding); a page of changes shrinks
    # about tenfold.
    "django.middleware.gzip.GZipMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # The panel's language (the person's choice, else Persian) and time zone.
    "hub.panel.middleware.PanelLanguage",
    # On for the panel; the protocol's views are exempt (each request is signed).
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "hub.panel.middleware.SessionLimit",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]
ROOT_URLCONF = "hub.urls"
WSGI_APPLICATION = "hub.wsgi.application"

# The protocol's bodies are read by its own bounded reader (8 MiB, as docs/sync-protocol.md
# says); this is Django's own limit for any other view.
DATA_UPLOAD_MAX_MEMORY_SIZE = 8 * 1024 * 1024

USE_TZ = True
TIME_ZONE = "UTC"
USE_I18N = True
LANGUAGE_CODE = "fa"
LANGUAGES = [("fa", "فارسی"), ("en", "English")]

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"stderr": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["stderr"], "level": "WARNING"},
    "loggers": {
        "hub": {"level": "INFO"},
        # A kiosk refused (401, 403, 404) is the protocol working, not a warning.
        "django.request": {"level": "ERROR"},
    },
}

# -- the owner's panel (docs/panel.md) ------------------------------------------------------
# hub/panel/<part>/, each with its own URLs
PANEL_PARTS = ("members", "insights", "program", "messages", "feedback")
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
            ],
        },
    }
]
STATIC_URL = "/panel/static/"
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG
LOGIN_URL = "/panel/sign-in"

# Strong passwords: Django's validators, 12 characters at least.
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
OTP_TOTP_ISSUER = "Loyalty hub"

# Sessions in the database; idle for 30 minutes ends one (each request renews it), and
# 12 hours end it however busy (hub/panel/middleware.py, SessionLimit). Closing the
# browser ends it too.
SESSION_ENGINE = "django.contrib.sessions.backends.db"
SESSION_COOKIE_AGE = 30 * 60
SESSION_SAVE_EVERY_REQUEST = True
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_NAME = "hub_session"
SESSION_COOKIE_SAMESITE = "Lax"
PANEL_SESSION_MAX_SECONDS = 12 * 60 * 60
CSRF_COOKIE_HTTPONLY = True
# A refused form told in the page's language and look (Django's own page is English, bare).
CSRF_FAILURE_VIEW = "hub.panel.errors.csrf_failure"
LANGUAGE_COOKIE_NAME = "hub_language"
LANGUAGE_COOKIE_SAMESITE = "Lax"
# Persian (and English) catalogues: hub/panel/locale (found as the app's own), and one of
# each part of the panel, kept by whoever writes that part (docs/panel.md, "Translations").
LOCALE_PATHS = [str(Path(__file__).parent / "panel" / part / "locale") for part in PANEL_PARTS]

# The sign-in's rate limit (hub/panel/signin.py): per account name, and per address (an
# office's staff often share one address behind their router).
PANEL_SIGN_IN_WINDOW_SECONDS = 15 * 60
PANEL_SIGN_IN_ACCOUNT_LIMIT = 5
PANEL_SIGN_IN_ADDRESS_LIMIT = 30

# The panel's dates and money: the time zone its days are counted in, the unit amounts
# are shown in (the ledger keeps Rial; 1 Toman = 10 Rial).
PANEL_TIME_ZONE = os.environ.get("HUB_TIME_ZONE") or "Asia/Tehran"
PANEL_MONEY_UNIT = os.environ.get("HUB_MONEY_UNIT") or "toman"
if PANEL_MONEY_UNIT not in ("toman", "rial"):
    raise ImproperlyConfigured(f"HUB_MONEY_UNIT must be toman or rial, not {PANEL_MONEY_UNIT!r}")

# The SMS gateway (docs/messaging.md, "Settings"): a URL-like setting whose key is in a file
# (kavenegar://?sender=N&key-file=PATH, smsir://?line=N&key-file=PATH, sim://HOST:PORT/...).
MESSAGING_GATEWAY = os.environ.get("HUB_SMS_GATEWAY", "")
# The hub's public URL, for the opt-out link in marketing messages.
MESSAGING_PUBLIC_URL = os.environ.get("HUB_PUBLIC_URL", "")

# Behind TLS (HUB_HTTPS=1, the proxy in front sets X-Forwarded-Proto): secure cookies and
# HSTS. Plain HTTP stays possible on loopback for `make hub` and the tests.
HUB_HTTPS = os.environ.get("HUB_HTTPS") == "1"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
if HUB_HTTPS:
    # The proxy in front says the request came over TLS (it must set the header itself,
    # overwriting the client's; the hub listens on loopback behind it, docs/hub.md).
    # Without it Django would take each request for plain HTTP: no HSTS, and every POST
    # refused by the CSRF check, its Origin (https://...) not matching.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    LANGUAGE_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = 365 * 24 * 60 * 60
