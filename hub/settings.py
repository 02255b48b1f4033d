"""Django's settings for the hub, all from the environment (hub/environment.py).

DEBUG is off unless HUB_DEBUG=1. The secret key is read from the data directory; the
protocol's views never need it (they are signed with each device's own secret), and
`hub serve` refuses to start without it, so the panel to come never runs with an empty key.
"""

from __future__ import annotations

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
    "hub.devices",
    "hub.members",
    "hub.ledger",
    "hub.feed",
    "hub.flags",
    "hub.program",
]
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # The protocol lets a kiosk ask for gzip (Accept-Encoding); a page of changes shrinks
    # about tenfold.
    "django.middleware.gzip.GZipMiddleware",
    # On for the panel to come; the protocol's views are exempt (each request is signed).
    "django.middleware.csrf.CsrfViewMiddleware",
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
