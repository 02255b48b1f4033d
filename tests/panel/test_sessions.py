"""A panel session ends after 12 hours however busy (the idle limit is tested in a browser:
tests/panel/test_sign_in.py)."""

from __future__ import annotations

import time

import pytest
from django.http import HttpRequest, HttpResponse


@pytest.fixture(autouse=True)
def _django(django_in_process: None) -> None:
    """Django's settings in this process (the session is a signed cookie: no database)."""


def request_signed_in(hours_ago: float, path: str = "/panel/") -> HttpRequest:
    from django.contrib.auth.models import AnonymousUser
    from django.contrib.sessions.backends.signed_cookies import SessionStore
    from django.test import RequestFactory

    from hub.panel.signin import SESSION_SINCE

    request = RequestFactory().get(path)
    request.session = SessionStore()
    request.session[SESSION_SINCE] = time.time() - hours_ago * 3600
    request.session["_auth_user_id"] = "7"
    request.user = AnonymousUser()
    return request


def through_the_limit(request: HttpRequest) -> HttpRequest:
    from hub.panel.middleware import SessionLimit

    seen: list[HttpRequest] = []

    def view(passed: HttpRequest) -> HttpResponse:
        seen.append(passed)
        return HttpResponse()

    SessionLimit(view)(request)
    return seen[0]


@pytest.mark.parametrize(("hours", "kept"), [(1, True), (11.9, True), (12.1, False), (48, False)])
def test_a_session_older_than_twelve_hours_is_signed_out(hours: float, kept: bool):
    passed = through_the_limit(request_signed_in(hours))

    assert ("_auth_user_id" in passed.session) is kept


def test_the_protocols_requests_are_not_touched():
    passed = through_the_limit(request_signed_in(48, path="/v2/changes"))

    assert "_auth_user_id" in passed.session
