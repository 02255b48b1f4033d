"""The audit log's page (owners only): filtered by actor, action, subject (a member's trail,
linked from their page) and dates, a page at a time."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta

import jdatetime
from django import forms
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpResponse
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.functional import Promise as StrPromise
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from hub.audit.models import AuditEvent
from hub.panel.access import PanelRequest, Role, panel_page
from hub.program.wording import Text

PER_PAGE = 50

# What each action is called on the page; an action not named here shows as it is stored.
# A part of the panel names its own with `name_action` (its labels in its own catalogue).
# Every action the code records has a name (tests/panel/test_audit_names.py reads the
# code for them): the members' (the panel's pages and `hub member`), the integration's
# (`hub webhook`, `hub apikey`) and the reports' are named here; the program's, devices'
# and staff's in hub/panel/program/views.py.
ACTION_NAMES: dict[str, StrPromise | Text] = {
    "sign_in": _("Signed in"),
    "sign_in_failed": _("Sign-in refused"),
    "locked_out": _("Locked out after failed sign-ins"),
    "sign_in_locked": _("Sign-in tried while locked out"),
    "sign_out": _("Signed out"),
    "member.search": _("Searched the members"),
    "member.view": _("Opened a member's page"),
    "member.show_personal": _("Showed a member's personal data"),
    "member.adjust": _("Adjusted a member's points"),
    "member.block_card": _("Blocked a member's card"),
    "member.export": _("Downloaded a member's data"),
    "member.erase": _("Erased a member"),
    "report_download": _("Downloaded a report"),
    "webhook.add": _("Added a webhook"),
    "webhook.rotate_secret": _("Gave a webhook a new secret"),
    "webhook.pause": _("Paused a webhook"),
    "webhook.resume": _("Resumed a webhook"),
    "webhook.retry_failed": _("Sent a webhook's failed deliveries again"),
    "apikey.add": _("Added an API key"),
    "apikey.revoke": _("Revoked an API key"),
    "messages.receipts": _("Changed a member's receipt messages"),
    "messages.policy": _("Changed the messages' settings"),
}

# What the keys of an event's detail mean (a key not named here shows as stored).
DETAIL_KEYS: dict[str, StrPromise] = {
    "via": _("through"),
    "user": _("system user"),
    "by": _("searched by"),
    "found": _("found"),
    "masked": _("masked"),
    "refused": _("refused"),
    "points": _("points"),
    "entry_id": _("entry"),
    "confirmed": _("owner's confirmation"),
    "card": _("card"),
    "ids": _("member ids"),
    "role": _("role"),
    "events": _("events"),
    "deliveries": _("deliveries"),
    "scopes": _("scopes"),
    "personal": _("with personal data"),
    "days": _("days"),
    "second_factor": _("second factor"),
    "reason": _("reason"),
    "device": _("device"),
    "version": _("version"),
    "changes": _("changed"),
    "receipts": _("receipts"),
    "winback_days": _("win-back after days"),
    "shop_name": _("shop name"),
}

# Codes a detail's value may hold, in words (any other text shows as stored).
DETAIL_VALUES: dict[str, StrPromise] = {
    "cli": _("the command line"),
    "not_found": _("not found or not theirs"),
    "limit": _("beyond the program's limit"),
    "password": _("wrong name or password"),
    "code": _("wrong two-factor code"),
    "no_second_factor": _("no two-factor device"),
    "not_a_panel_user": _("not a panel user"),
    "phone": _("phone"),
    "name": _("name"),
    "id": _("member id"),
    "cashier": _("Cashier"),
    "manager": _("Branch manager"),
    "owner": _("Owner"),
    "support": _("Support"),
}


def name_action(action: str, name: StrPromise | Text) -> None:
    """Give an action its name on the audit page (a lazy translation, or a Text: both
    read in the language of the page being made)."""
    ACTION_NAMES[action] = name


def action_name(action: str) -> str:
    """The action's name in the current language, or the action itself."""
    found = ACTION_NAMES.get(action)
    return str(found) if found is not None else action


def detail_lines(detail: object) -> list[tuple[str, str]]:
    """An event's detail as (key, value) lines in the page's language: keys and codes in
    words, numbers grouped in the page's digits, times in its calendar, yes and no."""
    if not isinstance(detail, dict):
        return [] if detail in (None, "") else [("", _value(detail))]
    return [
        (str(DETAIL_KEYS.get(key, key)), _value(value)) for key, value in sorted(detail.items())
    ]


def _value(value: object) -> str:
    from hub.panel.templatetags.panel import jalali, number

    if isinstance(value, bool):
        return str(_("yes") if value else _("no"))
    if isinstance(value, int | float):
        return number(value)
    if isinstance(value, list | tuple):
        comma = "، " if (get_language() or "fa").startswith("fa") else ", "
        return comma.join(_value(one) for one in value) or "-"
    if isinstance(value, dict):
        return "; ".join(f"{DETAIL_KEYS.get(k, k)}: {_value(v)}" for k, v in sorted(value.items()))
    if value is None:
        return "-"
    text = str(value)
    if text in DETAIL_VALUES:
        return str(DETAIL_VALUES[text])
    moment = parse_datetime(text) if _MOMENT.match(text) else None
    if moment is not None:
        return jalali(moment)
    return text


_MOMENT = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")

_ASCII = str.maketrans("۰۱۲۳۴۵۶۷۸۹٠١٢٣٤٥٦٧٨٩", "01234567890123456789")


def parse_day(text: str) -> date:
    """A day typed as `1405/09/15` (Jalali: a year before 1700) or `2026-12-06` (Gregorian),
    in Persian or ASCII digits."""
    cleaned = text.translate(_ASCII).strip().replace("-", "/")
    parts = cleaned.split("/")
    if len(parts) != 3 or not all(p.isascii() and p.isdigit() for p in parts):
        raise ValueError(text)
    year, month, day = (int(p) for p in parts)
    if year < 1700:
        gregorian: date = jdatetime.date(year, month, day).togregorian()
        return gregorian
    return date(year, month, day)


class DayField(forms.Field):
    """A day in the Jalali or the Gregorian calendar (see parse_day)."""

    def to_python(self, value: object) -> date | None:
        text = str(value or "").strip()[:20]
        if not text:
            return None
        try:
            return parse_day(text)
        except ValueError:
            raise forms.ValidationError(_("Write a day as 1405/09/15 or 2026-12-06.")) from None


class AuditFilter(forms.Form):
    """The audit page's filters (a GET form: a filtered page can be bookmarked)."""

    actor = forms.CharField(label=_("Who"), required=False, max_length=150)
    action = forms.CharField(label=_("Action"), required=False, max_length=100)
    subject = forms.CharField(label=_("About"), required=False, max_length=200)
    since = DayField(label=_("From"), required=False)
    until = DayField(label=_("To"), required=False)


def filtered(events: QuerySet[AuditEvent], form: AuditFilter) -> QuerySet[AuditEvent]:
    """The events the valid filters of `form` allow (the days in the panel's time zone)."""
    if not form.is_valid():
        return events.none()
    data = form.cleaned_data
    if data["actor"]:
        events = events.filter(actor_name=data["actor"])
    if data["action"]:
        events = events.filter(action=data["action"])
    if data["subject"]:  # a member's trail: every view and change of them
        events = events.filter(subject=data["subject"].strip())
    zone = timezone.get_current_timezone()
    if data["since"]:
        events = events.filter(at__gte=datetime.combine(data["since"], time.min, zone))
    if data["until"]:
        end = datetime.combine(data["until"] + timedelta(days=1), time.min, zone)
        events = events.filter(at__lt=end)
    return events


@panel_page(Role.OWNER)
def audit_page(request: PanelRequest) -> HttpResponse:
    """Every change and view of personal data, newest first, 50 a page."""
    form = AuditFilter(request.GET)
    events = filtered(AuditEvent.objects.select_related("branch"), form)
    page = Paginator(events, PER_PAGE).get_page(request.GET.get("page"))
    kept = request.GET.copy()
    kept.pop("page", None)
    choices = {
        "actors": AuditEvent.objects.exclude(actor_name="")
        .values_list("actor_name", flat=True)
        .distinct()
        .order_by("actor_name"),
        "actions": AuditEvent.objects.values_list("action", flat=True)
        .distinct()
        .order_by("action"),
    }
    return TemplateResponse(
        request,
        "panel/audit.html",
        {"form": form, "page": page, "query": kept.urlencode(), **choices},
    )
