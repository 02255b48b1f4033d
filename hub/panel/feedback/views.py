"""The panel's feedback page: shoppers' ratings of their visits, by branch and over time.

Thin: hub/feedback/report.py counts; this page reads the period, scopes it to the
reader's branches (a manager sees their branch only) and draws the figures, with a CSV
download. Every role may open it, support too: it shows figures, never a member.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import cast

from django.http import HttpResponse, StreamingHttpResponse
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _

from hub.feedback.models import REASONS
from hub.feedback.report import FeedbackReport, feedback_report
from hub.insights.downloads import stream
from hub.insights.scope import Scope
from hub.panel.access import PanelRequest, panel_page
from hub.panel.insights.charts import bars
from hub.panel.insights.forms import PeriodForm
from hub.panel.insights.views import scope_of

# The reasons as the panel names them (the kiosk's buttons say the same).
REASON_NAMES = {
    "staff": _("Staff"),
    "price": _("Price"),
    "quality": _("Quality"),
    "waiting": _("Waiting"),
    "cleanliness": _("Cleanliness"),
    "choice": _("Choice"),
}
FACE_NAMES = {
    1: _("Very unhappy"),
    2: _("Unhappy"),
    3: _("So-so"),
    4: _("Happy"),
    5: _("Very happy"),
}
assert set(REASON_NAMES) == set(REASONS)


@panel_page()
def index(request: PanelRequest) -> HttpResponse:
    """Ratings over a period (the last 30 days by default): by face, reason, branch, day."""
    scope = scope_of(request)
    form = PeriodForm(request.GET or None)
    if request.GET and not form.is_valid():
        return TemplateResponse(
            request, "panel/feedback/index.html", {"form": form, "report": None}, status=400
        )
    first, last = form.period(scope.today()) if form.is_bound else _last_30(scope)
    report = feedback_report(scope, first, last)
    if request.GET.get("format") == "csv":
        return _csv(f"feedback-{first}-{last}", report, scope)
    context = {
        "form": form,
        "first": first,
        "last": last,
        "report": report,
        "branches": report.by_branch(),
        "face_bars": bars((FACE_NAMES[r], n) for r, n in report.faces.items()),
        "reason_bars": bars((REASON_NAMES[r], n) for r, n in report.reasons.items()),
        "day_bars": bars(report.per_day().items()),
    }
    return TemplateResponse(request, "panel/feedback/index.html", context)


def _last_30(scope: Scope) -> tuple[date, date]:
    form = PeriodForm({})
    form.is_valid()
    return form.period(scope.today())


def _csv(name: str, report: FeedbackReport, scope: Scope) -> HttpResponse:
    """Ratings by day and branch as a CSV (UTF-8 with a byte-order mark, as the reports)."""
    header = ["day", "branch", "ratings", "average", "rated_1_or_2"]
    rows = ([r.day, r.branch, r.ratings, r.average, r.unhappy] for r in report.rows)

    def lines() -> Iterator[str]:
        yield "\ufeff"
        yield from stream(header, rows, scope)

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}.csv"'
    return cast(HttpResponse, response)
