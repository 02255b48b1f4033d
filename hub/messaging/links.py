"""The opt-out link put in marketing messages: /sms/stop/<member id, signed>.

The link carries the member's id (made by a kiosk, no personal data), never the phone: a
URL ends up in access logs and link previews. It is signed with the hub's secret key, so
no one can opt out another member by changing it.
"""

from __future__ import annotations

from django.core import signing
from django.http import HttpRequest
from django.middleware.csrf import get_token
from django.utils.html import escape

from hub.members.models import Member

_SALT = "hub.messaging.stop"


def token(member_id: str) -> str:
    """The signed part of a member's opt-out link."""
    return signing.Signer(salt=_SALT).sign(member_id)


def url(base: str, member_id: str) -> str:
    """A member's opt-out link under the hub's public URL."""
    return f"{base.rstrip('/')}/sms/stop/{token(member_id)}"


def phone_of(signed: str) -> str:
    """The phone of the member the link names; BadSignature if forged or unknown."""
    return member_of(signed).phone or ""


def member_of(signed: str) -> Member:
    """The active member the link names, with a phone; BadSignature if forged or unknown."""
    member_id = signing.Signer(salt=_SALT).unsign(signed)
    member = Member.objects.filter(member_id=member_id, status="active").first()
    if member is None or not member.phone:
        raise signing.BadSignature("no such member")
    return member


_TEXTS = {
    "ask": ("لغو پیامک‌های تبلیغاتی", "Stop marketing messages"),
    "done": ("دیگر پیامک تبلیغاتی برایتان فرستاده نمی‌شود.", "You will get no more marketing."),
    # The page's second switch: receipts after each purchase (transactional, not marketing).
    "receipts": ("لغو پیامک رسید خرید", "Stop receipts after each purchase"),
    "receipts_done": (
        "دیگر پس از خرید پیامک رسید برایتان فرستاده نمی‌شود.",
        "You will get no more receipts after a purchase.",
    ),
    "bad": ("این پیوند معتبر نیست.", "This link is not valid."),
}


def page(kind: str, request: HttpRequest | None = None) -> str:
    """A small page in Persian, then English."""
    persian, english = _TEXTS[kind]
    form = ""
    if kind == "ask" and request is not None:
        token = escape(get_token(request))
        for what in ("marketing", "receipts"):
            fa, en = _TEXTS["ask" if what == "marketing" else "receipts"]
            form += (
                '<form method="post"><input type="hidden" name="csrfmiddlewaretoken" '
                f'value="{token}"><input type="hidden" name="what" value="{what}">'
                f'<button type="submit">{escape(fa)} / {escape(en)}</button></form>'
            )
    return (
        '<!doctype html><html lang="fa" dir="rtl"><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width">'
        f"<title>{escape(english)}</title><p>{escape(persian)}</p>"
        f'<p dir="ltr" lang="en">{escape(english)}</p>{form}</html>'
    )
