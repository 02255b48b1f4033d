"""`{% load panel %}`: dates, money, digits and phone numbers as the reader's language shows
them (Persian: Jalali dates, Persian digits; English: Gregorian, ASCII digits)."""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal

import jdatetime
from django import template
from django.conf import settings
from django.utils import timezone, translation
from django.utils.translation import gettext, gettext_lazy

register = template.Library()

_PERSIAN_DIGITS = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")
_RIAL_PER_TOMAN = 10


def _persian() -> bool:
    return (translation.get_language() or settings.LANGUAGE_CODE).startswith("fa")


@register.filter
def digits(value: object) -> str:
    """The value as text, with Persian digits when the page is in Persian."""
    text = "" if value is None else str(value)
    return text.translate(_PERSIAN_DIGITS) if _persian() else text


_NUMBER = re.compile(r"^[+-]?[\d,]*\.?\d+$")


@register.filter
def numeral(value: object) -> str:
    """A number (`1.25`, `10,000`) as the reader's language writes it: in Persian its digits
    and the Arabic decimal point and thousands separator (`۱٫۲۵`, `۱۰٬۰۰۰`). Text that is
    not a number gets its digits alone changed, as `digits` does."""
    text = "" if value is None else str(value)
    if _persian() and _NUMBER.match(text):
        text = text.replace(",", "\u066c").replace(".", "\u066b")
    return digits(text)


@register.filter
def number(value: object, sign: str = "") -> str:
    """A count or an amount grouped by thousands as the reader's language writes it:
    `۱۲٬۵۰۰` in Persian (Persian digits, the Arabic thousands separator and decimal point),
    `12,500` in English. `number:"+"` writes the sign of a positive one too (`+۲۵`).
    Text that is not a number is shown as `digits` shows it; None as nothing."""
    if value is None or value == "":
        return ""
    try:
        amount = Decimal(str(value).strip().replace(",", ""))
    except ArithmeticError:
        return digits(value)
    if not amount.is_finite():
        return digits(value)
    if amount == amount.to_integral_value():
        text = f"{int(amount):+,}" if sign == "+" else f"{int(amount):,}"
    else:
        text = f"{amount:+,}" if sign == "+" else f"{amount:,}"
    if _persian():
        text = text.replace(",", "\u066c").replace(".", "\u066b")
    return digits(text)


@register.filter
def jalali(value: date | datetime | None) -> str:
    """A date (`1405/09/15`) or a time (`1405/09/15 14:30`, the panel's time zone) in the
    Jalali calendar in Persian, the Gregorian in English."""
    if value is None or value == "":
        return ""
    if isinstance(value, datetime):
        moment = timezone.localtime(value) if timezone.is_aware(value) else value
        if not _persian():
            return moment.strftime("%Y-%m-%d %H:%M")
        shown = jdatetime.datetime.fromgregorian(datetime=moment).strftime("%Y/%m/%d %H:%M")
        return digits(shown)
    if not _persian():
        return value.isoformat()
    return digits(jdatetime.date.fromgregorian(date=value).strftime("%Y/%m/%d"))


@register.filter
def money(rial: int | str | None) -> str:
    """An amount of Rial in the chain's display unit (HUB_MONEY_UNIT: toman or rial),
    grouped by thousands, with the unit's name: `۱۲۵٬۰۰۰ تومان`, `125,000 Toman`."""
    if rial is None or rial == "":
        return ""
    amount = Decimal(int(rial))
    toman = settings.PANEL_MONEY_UNIT == "toman"
    if toman:
        amount = amount / _RIAL_PER_TOMAN
    text = f"{amount:,.1f}" if amount != amount.to_integral_value() else f"{amount:,.0f}"
    unit = gettext("Toman") if toman else gettext("Rial")
    if _persian():
        # The Arabic thousands separator and decimal point, as Persian text writes them.
        text = text.replace(",", "\u066c").replace(".", "\u066b")
    return f"{digits(text)} {unit}"


@register.filter
def mask_phone(phone: str | None) -> str:
    """A phone number with its middle hidden (`+98912***4567`): enough to tell two members
    apart on a list, not enough to call them."""
    if not phone:
        return ""
    text = str(phone)
    if len(text) <= 6:
        return "*" * len(text)
    return f"{text[: max(len(text) - 7, 1)]}***{text[-4:]}"


@register.filter
def action_name(action: str) -> str:
    """An audit action's name in the page's language (hub/panel/audit_log.py)."""
    from hub.panel.audit_log import action_name as named

    return named(action)


# A ledger entry's kind (hub/ledger/checks.py KINDS), as a member's history names it.
ENTRY_KINDS = {
    "earn": gettext_lazy("Purchase"),
    "redeem": gettext_lazy("Reward"),
    "bonus": gettext_lazy("Bonus"),
    "adjust": gettext_lazy("Adjustment"),
    "expire": gettext_lazy("Expired"),
    "reversal": gettext_lazy("Reversal"),
}


@register.filter
def entry_kind(kind: str | None) -> str:
    """A ledger entry's kind in the page's language (an unknown one as stored)."""
    return str(ENTRY_KINDS.get(kind or "", kind or ""))


# A kiosk's card reader as its heartbeat reports it (drivers/base.py ReaderState).
_READER_STATES = {
    "stopped": gettext_lazy("stopped"),
    "connecting": gettext_lazy("connecting"),
    "connected": gettext_lazy("connected"),
    "disconnected": gettext_lazy("disconnected"),
    "error": gettext_lazy("error"),
}


@register.filter
def reader_state(state: str | None) -> str:
    """A card reader's state in the page's language (an unknown one as reported)."""
    return str(_READER_STATES.get(state or "", state or ""))


@register.filter
def disk_size(size: int | str | None) -> str:
    """Free disk in gigabytes, one decimal, in the page's numerals (`۶٫۰ گیگابایت`)."""
    if size is None or size == "":
        return ""
    unit = gettext("GB")
    return f"{numeral(f'{int(size) / 1024**3:.1f}')} {unit}"


_ROLE_NAMES = {
    "owner": gettext_lazy("Owner"),
    "manager": gettext_lazy("Branch manager"),
    "support": gettext_lazy("Support"),
}


@register.filter
def role_name(role: str | None) -> str:
    """A panel role's name in the page's language (`owner` reads مالک in Persian)."""
    return str(_ROLE_NAMES.get(role or "", role or ""))


@register.filter
def audit_detail(detail: dict[str, object] | None) -> list[tuple[str, str]]:
    """An audit event's detail as (key, value) lines in the page's language (ids and codes
    only, never a secret): hub/panel/audit_log.py `detail_lines`."""
    from hub.panel.audit_log import detail_lines

    return detail_lines(detail)


# The navigation: (URL name, label) in the order shown. A link shows only to those its page
# lets in (access.may_open reads the page's own panel_page roles), so the nav never offers
# a page that answers 403, and never hides one a role may open.
_NAV = (
    ("panel:home", gettext_lazy("Dashboard")),
    ("panel:members:index", gettext_lazy("Members")),
    ("panel:insights:index", gettext_lazy("Reports")),
    ("panel:program:index", gettext_lazy("Program")),
    ("panel:program:devices", gettext_lazy("Devices")),
    ("panel:program:staff", gettext_lazy("Staff")),
    ("panel:messages:log", __import__("hub.panel.messages", fromlist=["NAV"]).NAV),
    ("panel:feedback:index", __import__("hub.panel.feedback", fromlist=["NAV"]).NAV),
    ("panel:audit", gettext_lazy("Audit log")),
)


@register.simple_tag(takes_context=True)
def panel_nav(context: template.Context) -> list[dict[str, object]]:
    """The links the signed-in user's role may open, the current one marked."""
    from django.urls import resolve, reverse

    from hub.panel.access import may_open

    request = context.get("request")
    access = getattr(request, "access", None)
    if request is None or access is None:
        return []
    links: list[dict[str, object]] = []
    for name, label in _NAV:
        url = reverse(name)
        if may_open(access, resolve(url).func):
            here = request.path == url or (url != reverse("panel:home") and _under(request, url))
            links.append({"url": url, "label": label, "current": here})
    # The deepest match alone is current (devices lie under the program's own URL).
    current = [link for link in links if link["current"]]
    for link in current[:-1]:
        link["current"] = False
    return links


def _under(request: object, url: str) -> bool:
    return str(getattr(request, "path", "")).startswith(url)
