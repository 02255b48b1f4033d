"""The messages part's settings page: the chain's messaging policy (hub/messaging/models.py
`Policy`), which `hub messages policy` also changes.

Every role that opens the messages part reads it (rules and prices, no person in them); the
owner alone changes it, each change audited as `messages.policy` (the CLI's name too).
Amounts are typed and shown in the chain's unit (HUB_MONEY_UNIT) and stored in Rial.
"""

from __future__ import annotations

import re
from datetime import time
from decimal import Decimal
from typing import Any
from zoneinfo import available_timezones

from django import forms
from django.conf import settings
from django.db import transaction
from django.http import HttpResponse
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache

from hub import audit
from hub.messaging import limits
from hub.messaging.models import Policy
from hub.panel.access import PanelRequest, Role, forbidden, panel_page
from hub.panel.messages.views import TimeField, _render

RIAL_PER_UNIT = {"rial": 1, "toman": 10}
MOST_RIAL = 10**13  # far above any budget or price, within the columns' range
MOST_DAYS = 3650
_ASCII_DIGITS = str.maketrans("۰۱۲۳۴۵۶۷۸۹٠١٢٣٤٥٦٧٨٩", "01234567890123456789")
_PERSIAN_DIGITS = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")
_AMOUNT = re.compile(r"-?[0-9]{1,16}(\.[0-9]{1,4})?")
RECEIPT_NAMES = {
    "opt_out": _("To every member unless they said no (opt-out)"),
    "opt_in": _("Only to members who said yes (opt-in)"),
    "off": _("Never (off)"),
}
# The fields the page edits, as the Policy's columns are named.
FIELDS = (
    "shop_name",
    "time_zone",
    "quiet_start",
    "quiet_end",
    "cap_count",
    "cap_days",
    "daily_budget",
    "price_ucs2",
    "price_gsm",
    "receipts",
    "winback_days",
)


def _persian() -> bool:
    return (get_language() or "fa").startswith("fa")


def _shown(text: str) -> str:
    return text.translate(_PERSIAN_DIGITS) if _persian() else text


def _clock(value: time | str) -> time:
    # A model's default is a string until the row is read back from the database.
    return value if isinstance(value, time) else time.fromisoformat(value)


def _unit() -> str:
    unit: str = settings.PANEL_MONEY_UNIT
    return unit


class CountField(forms.IntegerField):
    """A whole number in Persian or ASCII digits, its bounds said in the page's digits."""

    def __init__(self, *, least: int, most: int, **kwargs: Any) -> None:
        kwargs.setdefault("widget", forms.TextInput(attrs={"inputmode": "numeric", "dir": "ltr"}))
        super().__init__(**kwargs)
        self.least, self.most = least, most
        self.error_messages["invalid"] = _("Write a whole number, like 30.")

    def to_python(self, value: Any) -> int | None:
        text = str(value or "").strip()[:20].translate(_ASCII_DIGITS)
        return super().to_python(text)

    def validate(self, value: Any) -> None:
        super().validate(value)
        if value is not None and value < self.least:
            raise forms.ValidationError(
                _("Write %(least)s or more.") % {"least": _shown(str(self.least))}
            )
        if value is not None and value > self.most:
            raise forms.ValidationError(
                _("Write %(most)s or less.") % {"most": _shown(str(self.most))}
            )


class MoneyField(forms.Field):
    """An amount typed in the chain's unit (`۵۰۰٬۰۰۰` Toman) and kept in Rial: a Toman
    amount may have one decimal (a Rial is a tenth of a Toman)."""

    widget = forms.TextInput(attrs={"inputmode": "decimal", "dir": "ltr"})

    def to_python(self, value: Any) -> int | None:
        text = str(value or "").strip()[:30].translate(_ASCII_DIGITS)
        for separator in (",", "٬", "،", " ", "\u200c", "_"):
            text = text.replace(separator, "")
        text = text.replace("٫", ".").replace("/", ".")
        if not text:
            return None
        if not _AMOUNT.fullmatch(text):
            raise forms.ValidationError(_("Write an amount, like 500,000."))
        if text.startswith("-"):
            raise forms.ValidationError(_("An amount is 0 or more."))
        amount = Decimal(text) * RIAL_PER_UNIT[_unit()]
        if amount != amount.to_integral_value():
            raise forms.ValidationError(_("That is less than a Rial: write at most one decimal."))
        if amount > MOST_RIAL:
            raise forms.ValidationError(_("That amount is too large."))
        return int(amount)


def amount_text(rial: int) -> str:
    """Rial as the field shows it: in the chain's unit, grouped, in the page's digits."""
    amount = Decimal(rial) / RIAL_PER_UNIT[_unit()]
    text = f"{amount:,.1f}" if amount != amount.to_integral_value() else f"{amount:,.0f}"
    if _persian():
        text = text.replace(",", "\u066c").replace(".", "\u066b")
    return _shown(text)


class PolicyForm(forms.Form):
    """The policy's settings; the amounts in the chain's unit (labels say which)."""

    shop_name = forms.CharField(
        label=_("The shop's name in messages"), required=False, max_length=100
    )
    time_zone = forms.ChoiceField(label=_("Time zone"))
    quiet_start = TimeField(label=_("Quiet hours from"))
    quiet_end = TimeField(label=_("Quiet hours until"))
    cap_count = CountField(label=_("Marketing messages to a member, at most"), least=0, most=1000)
    cap_days = CountField(label=_("in this many days"), least=1, most=MOST_DAYS)
    daily_budget = MoneyField(label=_("Daily marketing budget"))
    price_ucs2 = MoneyField(label=_("Price of an SMS part in Persian"))
    price_gsm = MoneyField(label=_("Price of an SMS part in Latin letters"))
    receipts = forms.ChoiceField(
        label=_("Receipts after a purchase or a reward"),
        choices=list(RECEIPT_NAMES.items()),
        widget=forms.RadioSelect,
    )
    winback_days = CountField(
        label=_("Win-back message after this many days without a visit (0: none)"),
        least=0,
        most=MOST_DAYS,
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        zone = self.fields["time_zone"]
        assert isinstance(zone, forms.ChoiceField)
        zone.choices = [(z, z) for z in sorted(available_timezones())]
        for name in ("quiet_start", "quiet_end"):
            self.fields[name].widget.attrs |= {"dir": "ltr", "inputmode": "numeric", "size": 6}
        for name in ("daily_budget", "price_ucs2", "price_gsm"):
            self.fields[name].required = True

    def clean_shop_name(self) -> str:
        name: str = self.cleaned_data["shop_name"].strip()
        if any(ord(c) < 32 for c in name):
            raise forms.ValidationError(_("Write the name on one line."))
        return name


def initial_of(rules: Policy) -> dict[str, Any]:
    """The policy as the form shows it: times, counts and amounts in the page's digits."""
    start, end = _clock(rules.quiet_start), _clock(rules.quiet_end)
    return {
        "shop_name": rules.shop_name,
        "time_zone": rules.time_zone,
        "quiet_start": _shown(start.strftime("%H:%M")),
        "quiet_end": _shown(end.strftime("%H:%M")),
        "cap_count": _shown(str(rules.cap_count)),
        "cap_days": _shown(str(rules.cap_days)),
        "daily_budget": amount_text(rules.daily_budget),
        "price_ucs2": amount_text(rules.price_ucs2),
        "price_gsm": amount_text(rules.price_gsm),
        "receipts": rules.receipts,
        "winback_days": _shown(str(rules.winback_days)),
    }


def _stored(value: Any) -> Any:
    """A value as the audit log keeps it (JSON): a time as `22:00`."""
    return value.strftime("%H:%M") if isinstance(value, time) else value


def changes(rules: Policy, data: dict[str, Any]) -> dict[str, Any]:
    """The fields whose value the form changes (the new values)."""
    now = {name: getattr(rules, name) for name in FIELDS}
    for name in ("quiet_start", "quiet_end"):
        now[name] = _clock(now[name])
    return {name: data[name] for name in FIELDS if data[name] != now[name]}


@never_cache
@panel_page()
def policy_page(request: PanelRequest) -> HttpResponse:
    """GET: the settings (every role); POST: the owner's change, checked and audited."""
    may_edit = request.access.role is Role.OWNER
    rules = limits.policy()
    saved = False
    status = 200
    if request.method == "POST":
        if not may_edit:
            return forbidden(request)
        form = PolicyForm(request.POST)
        if form.is_valid():
            with transaction.atomic():
                rules = Policy.objects.select_for_update().get(pk=rules.pk)
                changed = changes(rules, form.cleaned_data)
                if changed:
                    Policy.objects.filter(pk=rules.pk).update(**changed)
                    audit.record(
                        request,
                        "messages.policy",
                        "",
                        {name: _stored(value) for name, value in changed.items()},
                    )
            saved = True
            form = PolicyForm(initial=initial_of(limits.policy()))
        else:
            status = 400
    else:
        form = PolicyForm(initial=initial_of(rules))
    if not may_edit:
        for field in form.fields.values():
            field.disabled = True
    return _render(
        request,
        "settings.html",
        {
            "form": form,
            "may_edit": may_edit,
            "saved": saved,
            "unit": _("Toman") if _unit() == "toman" else _("Rial"),
        },
        status=status,
    )
