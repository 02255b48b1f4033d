"""The panel's middleware: its language and time zone, the session's absolute limit, and
the security headers Django does not send by itself (the Content-Security-Policy)."""

from __future__ import annotations

import time
import zoneinfo
from collections.abc import Callable

from django.conf import settings
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse
from django.utils import timezone, translation

from hub.panel.signin import SESSION_SINCE

Handler = Callable[[HttpRequest], HttpResponse]
PANEL_PREFIX = "/panel/"

# No inline script and nothing from another host (the shops' networks are often closed
# anyway): a script injected into a page would not run. Inline style attributes are
# allowed: a bar of a chart takes its length from one, and CSS cannot run code.
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)


class PanelLanguage:
    """The language the person chose (the language cookie Django's `set_language` sets),
    else Persian; the panel's time zone for its dates.

    Django's LocaleMiddleware would follow the browser's Accept-Language first: the office
    PC's English Windows would then show English to staff who read Persian.
    """

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response
        self.zone = zoneinfo.ZoneInfo(settings.PANEL_TIME_ZONE)

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not request.path.startswith(PANEL_PREFIX):
            return self.get_response(request)
        chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME, "")
        language = chosen if chosen in dict(settings.LANGUAGES) else settings.LANGUAGE_CODE
        translation.activate(language)
        request.LANGUAGE_CODE = language
        timezone.activate(self.zone)
        try:
            response = self.get_response(request)
        finally:
            timezone.deactivate()
        response.headers.setdefault("Content-Language", language)
        return response


class SessionLimit:
    """Sign a session out once it is older than PANEL_SESSION_MAX_SECONDS, however active.

    The idle limit is Django's own: SESSION_COOKIE_AGE, renewed by each request
    (SESSION_SAVE_EVERY_REQUEST); this adds the absolute one, so that a stolen session
    ends too.
    """

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path.startswith(PANEL_PREFIX):
            since = request.session.get(SESSION_SINCE)
            if since is not None and time.time() - since > settings.PANEL_SESSION_MAX_SECONDS:
                logout(request)
        return self.get_response(request)


class SecurityHeaders:
    """The Content-Security-Policy on every response, and no caching of the panel's pages
    (a shared office PC's cache would keep a member's page); Django's SecurityMiddleware
    and XFrameOptionsMiddleware send the others."""

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        if request.path.startswith(PANEL_PREFIX) and not request.path.startswith(
            settings.STATIC_URL
        ):
            response.headers.setdefault("Cache-Control", "no-store")
        return response
