"""What the reports' pages read from their query string: a period, a number of days."""

from __future__ import annotations

from datetime import date, timedelta

from django import forms
from django.utils.translation import gettext_lazy as _

from hub.panel.audit_log import parse_day

LONGEST_PERIOD = 366  # days: a report over more would read years of entries at once


class DayField(forms.CharField):
    """A day typed in either calendar: `1405/09/15` or `2026-12-06`, Persian digits too."""

    def to_python(self, value: object) -> date | None:  # type: ignore[override]
        text = super().to_python(value)
        if not text:
            return None
        try:
            return parse_day(text)
        except ValueError:
            raise forms.ValidationError(_("Write a day as 1405/09/15 or 2026-12-06.")) from None


class PeriodForm(forms.Form):
    """From and to (both included); the last 30 days when left out."""

    since = DayField(required=False)
    until = DayField(required=False)

    def period(self, today: date) -> tuple[date, date]:
        """The days asked for (valid form), the last 30 days by default."""
        last = self.cleaned_data.get("until") or today
        first = self.cleaned_data.get("since") or last - timedelta(days=29)
        return first, last

    def clean(self) -> dict[str, object]:
        cleaned = super().clean() or {}
        first, last = cleaned.get("since"), cleaned.get("until")
        if isinstance(first, date) and isinstance(last, date):
            if first > last:
                raise forms.ValidationError(_("The first day is after the last."))
            if (last - first).days >= LONGEST_PERIOD:
                raise forms.ValidationError(_("Choose at most a year."))
        return cleaned


class DaysForm(forms.Form):
    """A number of days (no visit in N days, birthdays in the next N days)."""

    days = forms.IntegerField(required=False, min_value=1, max_value=LONGEST_PERIOD)

    def days_or(self, default: int) -> int:
        """The number asked for (valid form), or `default`."""
        value = self.cleaned_data.get("days")
        return int(value) if value else default
