"""The dashboard's figures and the reports' pages, each with its CSV download.

Thin: each view reads its form, calls hub/insights with the reader's scope (their
branches, the chain's time zone) and renders what comes back. Every role may read the
figures, a branch manager their branch's only; the lists of people show phones and names
masked, and their CSV has them in full only for a reader who may see personal data (never
support), and each download of such a list is audited.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import replace
from datetime import date, datetime, timedelta
from typing import Any, TypeVar, cast

from django.conf import settings
from django.http import HttpResponse, StreamingHttpResponse
from django.template.response import TemplateResponse
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from hub import audit
from hub.insights.dashboard import dashboard
from hub.insights.downloads import (
    birthday_rows,
    by_day_rows,
    inactive_rows,
    reward_rows,
    rfm_rows,
    stream,
    tier_rows,
)
from hub.insights.people import (
    Birthday,
    InactiveMember,
    birthdays_page,
    every_inactive_member,
    inactive_members,
    upcoming_birthdays,
)
from hub.insights.reports import by_day, kept_tiers, rewards_redeemed
from hub.insights.rfm import kept_rfm
from hub.insights.scope import Scope
from hub.members.search import mask_name
from hub.panel.access import PanelRequest, forbidden, panel_page
from hub.panel.insights.charts import bars
from hub.panel.insights.forms import DaysForm, PeriodForm

Person = TypeVar("Person", InactiveMember, Birthday)
# The segments' names as people read them (hub/insights/rfm.py names them by id).
SEGMENT_NAMES = {
    "champions": _("Champions"),
    "loyal": _("Loyal"),
    "promising": _("Promising"),
    "needs_attention": _("Need attention"),
    "at_risk": _("At risk"),
    "hibernating": _("Hibernating"),
    "lost": _("Lost"),
}
INACTIVE_DAYS = 90
BIRTHDAY_DAYS = 7


def scope_of(request: PanelRequest) -> Scope:
    """The reader's scope: their branches, in the chain's time zone (HUB_TIME_ZONE)."""
    zone = zoneinfo.ZoneInfo(settings.PANEL_TIME_ZONE)
    return Scope(branch_ids=request.access.branch_ids, tz=zone)


def _persian() -> bool:
    return (translation.get_language() or "fa").startswith("fa")


def dashboard_context(request: PanelRequest) -> dict[str, Any]:
    """What panel/dashboard.html shows (the home page's view calls this)."""
    board = dashboard(scope_of(request))
    return {
        "board": board,
        "branch_bars": bars((b.name, b.last_30_days.purchase_total) for b in board.branches),
    }


@panel_page()
def index(request: PanelRequest) -> HttpResponse:
    """The list of reports."""
    return TemplateResponse(request, "panel/insights/index.html", {})


@panel_page()
def visits(request: PanelRequest) -> HttpResponse:
    """Visits and purchases by day and branch over a period, with a chart of the amounts."""
    scope = scope_of(request)
    form, period = _period(request, scope)
    if period is None:
        return _page(request, "visits", {"form": form, "rows": ()}, status=400)
    first, last = period
    rows = by_day(scope, first, last)
    if _wants_csv(request):
        return _csv(f"visits-{first}-{last}", *by_day_rows(rows), scope)
    per_day: dict[date, int] = {}
    for row in rows:
        per_day[row.day] = per_day.get(row.day, 0) + row.purchase_total
    return _page(
        request,
        "visits",
        {
            "form": form,
            "first": first,
            "last": last,
            "rows": rows,
            "day_bars": bars(per_day.items()),
        },
    )


@panel_page()
def tiers(request: PanelRequest) -> HttpResponse:
    """Members by tier now."""
    scope = scope_of(request)
    rows, as_of = kept_tiers(scope)
    if _wants_csv(request):
        return _csv(f"tiers-{scope.today()}", *tier_rows(rows), scope)
    persian = _persian()
    chart = bars((r.name_fa if persian else r.name_en, r.members) for r in rows)
    return _page(request, "tiers", {"rows": rows, "chart": chart, "as_of": as_of})


@panel_page()
def rewards(request: PanelRequest) -> HttpResponse:
    """Rewards redeemed over a period."""
    scope = scope_of(request)
    form, period = _period(request, scope)
    if period is None:
        return _page(request, "rewards", {"form": form, "rows": ()}, status=400)
    first, last = period
    rows = rewards_redeemed(scope, first, last)
    if _wants_csv(request):
        return _csv(f"rewards-{first}-{last}", *reward_rows(rows), scope)
    persian = _persian()
    chart = bars((r.name_fa if persian else r.name_en, r.redemptions) for r in rows)
    return _page(
        request,
        "rewards",
        {"form": form, "first": first, "last": last, "rows": rows, "chart": chart},
    )


@panel_page()
def segments(request: PanelRequest) -> HttpResponse:
    """Members by RFM segment over the last year."""
    scope = scope_of(request)
    report, as_of = kept_rfm(scope)
    if _wants_csv(request):
        return _csv(f"segments-{scope.today()}", *rfm_rows(report), scope)
    chart = bars((SEGMENT_NAMES.get(s.segment, s.segment), s.members) for s in report.segments)
    return _page(request, "segments", {"report": report, "chart": chart, "as_of": as_of})


@panel_page()
def inactive(request: PanelRequest) -> HttpResponse:
    """Members with no visit in N days, a page at a time (phones and names masked)."""
    form = DaysForm(request.GET or None)
    if request.GET and not form.is_valid():
        return _page(request, "inactive", {"form": form, "members": ()}, status=400)
    days = form.days_or(INACTIVE_DAYS) if form.is_bound else INACTIVE_DAYS
    scope = scope_of(request)
    if _wants_csv(request):
        personal = request.GET.get("personal") == "1"
        if personal and not request.access.sees_personal:
            return forbidden(request)
        _audit_download(request, "inactive", personal, days)
        people = _unnamed(request, every_inactive_member(scope, days))
        return _csv(
            f"inactive-{days}-days-{scope.today()}",
            *inactive_rows(people, personal=personal),
            scope,
        )
    after = _after(request.GET.get("after_at"), request.GET.get("after_id"))
    page = inactive_members(scope, days, after=after)
    shown = [
        {"member": m, "name": mask_name(m.name), "phone": m.phone}
        for m in _unnamed(request, page.members)
    ]
    return _page(
        request,
        "inactive",
        {"form": form, "days": days, "members": shown, "next": page.after},
    )


@panel_page()
def birthdays(request: PanelRequest) -> HttpResponse:
    """Birthdays in the next N days, in each member's calendar (phones and names masked)."""
    form = DaysForm(request.GET or None)
    if request.GET and not form.is_valid():
        return _page(request, "birthdays", {"form": form, "people": ()}, status=400)
    days = form.days_or(BIRTHDAY_DAYS) if form.is_bound else BIRTHDAY_DAYS
    scope = scope_of(request)
    if _wants_csv(request):
        personal = request.GET.get("personal") == "1"
        if personal and not request.access.sees_personal:
            return forbidden(request)
        _audit_download(request, "birthdays", personal, days)
        coming = _unnamed(request, upcoming_birthdays(scope, days))
        return _csv(
            f"birthdays-{days}-days-{scope.today()}",
            *birthday_rows(coming, personal=personal),
            scope,
        )
    page = birthdays_page(scope, days, after=_after_day(request))
    shown = [
        {"birthday": b, "name": mask_name(b.name), "phone": b.phone}
        for b in _unnamed(request, page.people)
    ]
    return _page(
        request,
        "birthdays",
        {"form": form, "days": days, "people": shown, "next": page.after},
    )


def _after_day(request: PanelRequest) -> tuple[date, str] | None:
    """The keyset of the birthdays' page before (its "next" link carries it)."""
    on, member_id = request.GET.get("after_on"), request.GET.get("after_id")
    if not on or not member_id:
        return None
    try:
        return date.fromisoformat(on), member_id
    except ValueError:
        return None


def _unnamed(request: PanelRequest, people: Iterable[Person]) -> Iterator[Person]:
    """The people as they are, or with no phone and no name for a reader who may not see
    personal data (support): not even masked."""
    for person in people:
        yield person if request.access.sees_personal else replace(person, phone=None, name=None)


def _period(request: PanelRequest, scope: Scope) -> tuple[PeriodForm, tuple[date, date] | None]:
    """The period asked for (the last 30 days if none), or None with the form's errors."""
    form = PeriodForm(request.GET or None)
    if request.GET and not form.is_valid():
        return form, None
    return form, form.period(scope.today()) if form.is_bound else _last_30(scope)


def _last_30(scope: Scope) -> tuple[date, date]:
    today = scope.today()
    return today - timedelta(days=29), today


def _wants_csv(request: PanelRequest) -> bool:
    return request.GET.get("format") == "csv"


def _after(at: str | None, member_id: str | None) -> tuple[datetime, str] | None:
    """The keyset of the page before, as the page's "next" link carries it."""
    if not at or not member_id:
        return None
    try:
        moment = datetime.fromisoformat(at)
    except ValueError:
        return None
    if timezone.is_naive(moment):
        return None
    return moment, member_id


def _audit_download(request: PanelRequest, report: str, personal: bool, days: int) -> None:
    # A list of people leaves the hub: who took it, and whether phones and names were in it.
    branches = request.access.branch_ids
    branch = next(iter(branches)) if branches and len(branches) == 1 else None
    audit.record(
        request,
        "report_download",
        report,
        {"personal": personal, "days": days},
        branch_id=branch,
    )


def _page(
    request: PanelRequest, name: str, context: dict[str, Any], status: int = 200
) -> HttpResponse:
    context["report_name"] = name
    return TemplateResponse(request, f"panel/insights/{name}.html", context, status=status)


def _csv(
    name: str,
    header: Sequence[str],
    rows: Iterable[Sequence[object]],
    scope: Scope,
) -> HttpResponse:
    """The rows as a streamed CSV download, UTF-8 with a byte-order mark: without it a
    spreadsheet on Windows reads Persian names as Latin-1."""

    def lines() -> Iterator[str]:
        yield "\ufeff"
        yield from stream(header, rows, scope)

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}.csv"'
    # panel_page's views are typed as returning an HttpResponse; Django serves any
    # HttpResponseBase, a streamed one included.
    return cast(HttpResponse, response)
