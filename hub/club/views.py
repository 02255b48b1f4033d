"""The phone page's views: the number, the code, the member's page, consent, erasure.

Its own session (hub/club/codes.py: a token in the `club_session` cookie, 15 minutes
idle, 2 hours at most), apart from the panel's; every POST is checked by Django's CSRF
middleware; the panel's Content-Security-Policy (no inline script) is the hub's on every
response, and these pages are never cached (a shared phone's browser keeps nothing).
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable
from datetime import datetime
from functools import wraps
from typing import Any

from django.conf import settings
from django.core import signing
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils import timezone, translation
from django.views.decorators.http import require_http_methods, require_POST

from hub.audit.models import AuditEvent
from hub.club import account, codes
from hub.club.models import ClubSession
from hub.club.texts import CONSENT_LINES, TEXTS, words
from hub.members.phones import mask_phone, phone_candidates
from hub.panel.audit_log import name_action
from hub.program.wording import ascii_digits, persian_digits
from hub.protocol.sources import source_address

SESSION_COOKIE = "club_session"
PENDING_COOKIE = "club_pending"
LANGUAGE_COOKIE = "club_language"
_PENDING_SALT = "hub.club.pending"
_PATH = "/club/"

name_action("club.sign_in", TEXTS["audit_sign_in"])
name_action("club.consent", TEXTS["audit_consent"])
name_action("club.erase", TEXTS["audit_erase"])

View = Callable[..., HttpResponse]


def _language(request: HttpRequest) -> str:
    asked = request.GET.get("lang") or request.COOKIES.get(LANGUAGE_COOKIE, "")
    return asked if asked in ("fa", "en") else "fa"


def _now() -> datetime:
    return timezone.now()


def club_page(view: View) -> View:
    """The page in the member's language (`?lang=`, then their cookie, else Persian), the
    panel's time zone for its dates, never cached."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        language = _language(request)
        request.LANGUAGE_CODE = language
        timezone.activate(zoneinfo.ZoneInfo(settings.PANEL_TIME_ZONE))
        try:
            with translation.override(language):
                response = view(request, language, *args, **kwargs)
        finally:
            timezone.deactivate()
        response.headers["Cache-Control"] = "no-store"
        response.headers.setdefault("Content-Language", language)
        if request.COOKIES.get(LANGUAGE_COOKIE) != language:
            _cookie(response, LANGUAGE_COOKIE, language, max_age=365 * 24 * 3600)
        return response

    return wrapped


def _cookie(response: HttpResponse, name: str, value: str, max_age: int | None = None) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path=_PATH,
        secure=settings.HUB_HTTPS,
        httponly=True,
        samesite="Strict",
    )


def _forget(response: HttpResponse, name: str) -> None:
    response.delete_cookie(name, path=_PATH, samesite="Strict")


def _page(
    request: HttpRequest, language: str, template: str, status: int = 200, **context: Any
) -> HttpResponse:
    return render(
        request,
        f"club/{template}",
        {
            "t": words(language),
            "lang": language,
            "other": "en" if language == "fa" else "fa",
            "rtl": language == "fa",
            **context,
        },
        status=status,
    )


def _number(value: int | str, language: str) -> str:
    """A number or a masked phone in the page's digits (Persian ones in Persian)."""
    return persian_digits(value) if language == "fa" else str(value)


def _audit(action: str, request: HttpRequest, member_id: str, detail: dict[str, Any]) -> None:
    """The audit log's row, the member as the actor (they have no panel account)."""
    AuditEvent.objects.create(
        actor=None,
        actor_name="member",
        role="member",
        action=action,
        subject=member_id,
        detail=detail,
        ip=_address(request) or None,
    )


def _address(request: HttpRequest) -> str:
    return source_address(request.META, settings.HUB_TRUSTED_PROXIES)


def _session(request: HttpRequest) -> ClubSession | None:
    return codes.session_of(request.COOKIES.get(SESSION_COOKIE, ""), _now())


def _pending(request: HttpRequest) -> dict[str, Any] | None:
    try:
        found = signing.loads(
            request.COOKIES.get(PENDING_COOKIE, ""),
            salt=_PENDING_SALT,
            max_age=codes.VALID * 2,
        )
    except signing.BadSignature:
        return None
    return found if isinstance(found, dict) else None


def _to_start(message: str = "") -> HttpResponseRedirect:
    return HttpResponseRedirect(f"{_PATH}?m={message}" if message else _PATH)


@require_http_methods(["GET", "POST"])
@club_page
def start(request: HttpRequest, language: str) -> HttpResponse:
    """The number: a code is sent to it (if it is a member's; the answer is the same)."""
    if request.method == "GET":
        if _session(request) is not None:
            return HttpResponseRedirect(f"{_PATH}me")
        said = {"over": "session_over", "out": "signed_out", "erased": "erased"}.get(
            request.GET.get("m", "")
        )
        message = TEXTS[said].pick(language) if said else ""
        return _page(request, language, "start.html", message=message)
    typed = request.POST.get("phone", "")[:40]
    found = phone_candidates(ascii_digits(typed))
    if not found:
        return _page(
            request,
            language,
            "start.html",
            status=400,
            error=TEXTS["phone_bad"].pick(language),
            typed=typed,
        )
    sent = _send(request, language, found[0])
    if isinstance(sent, str):
        return _page(request, language, "start.html", status=429, error=sent, typed=typed)
    return sent


def _send(request: HttpRequest, language: str, phone: str) -> HttpResponse | str:
    """To the code's page with the code's cookie; or the words of how long to wait."""
    sent = codes.send(phone, _address(request), language, _now())
    if isinstance(sent, codes.Limited):
        return TEXTS["wait"].pick(language).format(seconds=_number(sent.retry_after, language))
    response = HttpResponseRedirect(f"{_PATH}code")
    value = signing.dumps({"id": sent.code_id, "phone": phone}, salt=_PENDING_SALT)
    _cookie(response, PENDING_COOKIE, value)
    return response


@require_http_methods(["GET", "POST"])
@club_page
def code(request: HttpRequest, language: str) -> HttpResponse:
    """The code typed back: a session, or why not."""
    pending = _pending(request)
    if pending is None:
        return _to_start()
    shown = _number(mask_phone(str(pending["phone"])), language)
    if request.method == "GET":
        return _page(request, language, "code.html", phone=shown)
    typed = ascii_digits(request.POST.get("code", ""))[:10]
    done = codes.check(int(pending["id"]), typed, _now())
    if isinstance(done, codes.SignedIn):
        _audit("club.sign_in", request, done.member_id, {})
        response = HttpResponseRedirect(f"{_PATH}me")
        _cookie(response, SESSION_COOKIE, done.token)
        _forget(response, PENDING_COOKIE)
        return response
    if isinstance(done, codes.Wrong) and done.attempts_left > 0:
        error = (
            TEXTS["code_wrong"].pick(language).format(left=_number(done.attempts_left, language))
        )
    else:
        error = TEXTS["code_dead"].pick(language)
    return _page(request, language, "code.html", status=400, phone=shown, error=error)


@require_POST
@club_page
def resend(request: HttpRequest, language: str) -> HttpResponse:
    """A new code to the same number (the resend delay and the hourly limits apply)."""
    pending = _pending(request)
    if pending is None:
        return _to_start()
    sent = _send(request, language, str(pending["phone"]))
    if isinstance(sent, str):
        shown = _number(mask_phone(str(pending["phone"])), language)
        return _page(request, language, "code.html", status=429, phone=shown, error=sent)
    return sent


def _signed_in(view: View) -> View:
    """The view with the member's live session; to the start (and a new sign-in) if none."""

    @wraps(view)
    def wrapped(request: HttpRequest, language: str) -> HttpResponse:
        session = _session(request)
        if session is None:
            response = _to_start("over" if request.COOKIES.get(SESSION_COOKIE) else "")
            _forget(response, SESSION_COOKIE)
            return response
        return view(request, language, session)

    return wrapped


@require_http_methods(["GET"])
@club_page
@_signed_in
def me(request: HttpRequest, language: str, session: ClubSession) -> HttpResponse:
    """The member's page: balance, history, rewards, badges' place, consent, erasure."""
    today = timezone.localdate()
    summary = account.summary(session.member_id, language, today)
    if summary is None:
        codes.end_sessions_of([session.member_id])
        return _to_start("erased")
    return _page(
        request,
        language,
        "me.html",
        member=summary,
        phone=_number(mask_phone(summary.phone), language),
        history=[
            (
                line,
                TEXTS[f"kind_{line.kind}"].pick(language)
                if f"kind_{line.kind}" in TEXTS
                else line.kind,
            )
            for line in summary.history
        ],
        rewards=[
            (
                reward,
                TEXTS["affordable"].pick(language)
                if reward.affordable
                else TEXTS["needs"]
                .pick(language)
                .format(points=_number(reward.cost - summary.balance, language)),
            )
            for reward in summary.rewards
        ],
        consent_lines=[line.pick(language) for line in CONSENT_LINES],
        saved=request.GET.get("saved") == "1",
    )


@require_POST
@club_page
@_signed_in
def consent(request: HttpRequest, language: str, session: ClubSession) -> HttpResponse:
    """Marketing on or off, the member's own choice."""
    wanted = request.POST.get("consent") == "on"
    version = account.set_consent(session.member_id, wanted, _now())
    _audit("club.consent", request, session.member_id, {"consent": wanted, "version": version})
    return HttpResponseRedirect(f"{_PATH}me?saved=1")


@require_http_methods(["GET", "POST"])
@club_page
@_signed_in
def erase(request: HttpRequest, language: str, session: ClubSession) -> HttpResponse:
    """Erasure at once, confirmed, and only within FRESH of typing a code."""
    fresh = _now() - session.created_at <= codes.FRESH
    if request.method == "GET" or not fresh:
        return _page(
            request,
            language,
            "erase.html",
            status=200 if request.method == "GET" else 403,
            fresh=fresh,
        )
    if request.POST.get("confirm") != "yes":
        return _page(request, language, "erase.html", status=400, fresh=True, unconfirmed=True)
    ids = account.erase(session.member_id)
    _audit("club.erase", request, session.member_id, {"ids": ids})
    codes.end_sessions_of([session.member_id, *ids])
    response = _to_start("erased")
    _forget(response, SESSION_COOKIE)
    return response


@require_POST
@club_page
def sign_out(request: HttpRequest, language: str) -> HttpResponse:
    codes.end_session(request.COOKIES.get(SESSION_COOKIE, ""))
    response = _to_start("out")
    _forget(response, SESSION_COOKIE)
    _forget(response, PENDING_COOKIE)
    return response


@club_page
def expired(request: HttpRequest, language: str) -> HttpResponse:
    """A form refused by the CSRF check (hub/panel/errors.py `csrf_failure`): the first
    page again with what to do, never Django's bare English page on a member's phone."""
    message = TEXTS["expired"].pick(language)
    return _page(request, language, "start.html", status=403, error=message)
