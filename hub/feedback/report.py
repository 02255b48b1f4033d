"""Visit ratings counted for the panel: by day and branch, by face, by reason.

Figures only: no member id, no entry id, nothing that names a person, so that every role
may read them (a branch manager their branch's only, through the scope).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.db.models import Count, Q, QuerySet, Sum
from django.db.models.functions import TruncDate

from hub.feedback.models import REASONS, VisitRating
from hub.insights.scope import Scope


@dataclass(frozen=True)
class DayRow:
    """The ratings of one branch on one day."""

    day: date
    branch: str
    ratings: int
    total: int  # the sum of the ratings, for the average
    unhappy: int  # rated 1 or 2

    @property
    def average(self) -> float:
        """The mean rating, to one decimal."""
        return round(self.total / self.ratings, 1) if self.ratings else 0.0


@dataclass(frozen=True)
class FeedbackReport:
    """A period's ratings in a scope."""

    rows: tuple[DayRow, ...]
    faces: dict[int, int]  # rating -> how many
    reasons: dict[str, int]  # reason -> how many ratings named it

    @property
    def ratings(self) -> int:
        """How many visits were rated."""
        return sum(self.faces.values())

    @property
    def average(self) -> float:
        """The mean rating over the period, to one decimal."""
        count = self.ratings
        return round(sum(r * n for r, n in self.faces.items()) / count, 1) if count else 0.0

    def by_branch(self) -> list[DayRow]:
        """One row per branch over the whole period (its `day` is the period's last)."""
        found: dict[str, DayRow] = {}
        for row in self.rows:
            held = found.get(row.branch)
            found[row.branch] = (
                row
                if held is None
                else DayRow(
                    max(held.day, row.day),
                    row.branch,
                    held.ratings + row.ratings,
                    held.total + row.total,
                    held.unhappy + row.unhappy,
                )
            )
        return [found[name] for name in sorted(found)]

    def per_day(self) -> dict[date, int]:
        """How many ratings each day (every branch in scope)."""
        days: dict[date, int] = {}
        for row in self.rows:
            days[row.day] = days.get(row.day, 0) + row.ratings
        return days


def ratings_in(scope: Scope, first: date, last: date) -> QuerySet[VisitRating]:
    """The ratings given from `first` to `last` (the chain's days) in the scope's branches."""
    start, end = scope.days(first, last)
    found = VisitRating.objects.filter(rated_at__gte=start, rated_at__lt=end)
    if scope.branch_ids is not None:
        found = found.filter(branch_id__in=scope.branch_ids)
    return found


def feedback_report(scope: Scope, first: date, last: date) -> FeedbackReport:
    """The period's ratings counted by day and branch, by face and by reason."""
    found = ratings_in(scope, first, last)
    rows = (
        found.annotate(day=TruncDate("rated_at", tzinfo=scope.tz))
        .values("day", "branch__name")
        .annotate(n=Count("id"), total=Sum("rating"), low=Count("id", filter=Q(rating__lte=2)))
        .order_by("day", "branch__name")
    )
    faces = {rating: 0 for rating in range(1, 6)}
    for row in found.values("rating").annotate(n=Count("id")):
        faces[int(row["rating"])] = int(row["n"])
    # Names in REASONS are no part of one another, so a substring names one reason.
    counted = found.aggregate(
        **{reason: Count("id", filter=Q(reasons__contains=reason)) for reason in REASONS}
    )
    return FeedbackReport(
        rows=tuple(
            DayRow(r["day"], str(r["branch__name"]), int(r["n"]), int(r["total"]), int(r["low"]))
            for r in rows
        ),
        faces=faces,
        reasons={reason: int(counted[reason] or 0) for reason in REASONS},
    )
