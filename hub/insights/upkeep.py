"""Keeping the rollups current: what `hub insights refresh` and `hub insights work` do.

The pages never wait on this (a page works out the days it reads if they are noted; the
points held are exact at every moment); the worker keeps those waits rare, folds the
changes to the points held, and works out the nightly reports over every member.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta
from datetime import time as clock_time
from functools import partial
from typing import Any

from django.db import connection
from django.utils import timezone

from hub.devices.models import Branch
from hub.insights import reports, rfm, rollup
from hub.insights.scope import Scope

log = logging.getLogger("hub.insights")

# The nightly reports are worked out after this time of the chain's day (few shoppers).
NIGHTLY_AFTER = clock_time(3, 0)
EVERY = 60.0  # seconds between two rounds of the worker
FOLD_EVERY = timedelta(hours=1)
FOLD_AT = 20_000  # changes to the points held waiting


def scopes() -> list[Scope]:
    """The chain and each branch: the scopes the panel's readers have."""
    return [Scope()] + [
        Scope(frozenset({pk})) for pk in Branch.objects.order_by("id").values_list("pk", flat=True)
    ]


def refresh_snapshots() -> int:
    """Work out the tiers and RFM reports of every scope again; how many were made."""
    made = 0
    version = reports.program_version()
    for scope in scopes():
        rollup.remake("tiers", scope, partial(tiers_report, scope), version=version)
        rollup.remake("rfm", scope, partial(rfm_report, scope))
        made += 2
    return made


def tiers_report(scope: Scope) -> list[dict[str, Any]]:
    """The tier distribution worked out now, as it is kept."""
    return [asdict(row) for row in reports.tier_distribution(scope)]


def rfm_report(scope: Scope) -> dict[str, Any]:
    """The RFM report worked out now, as it is kept."""
    return asdict(rfm.rfm(scope))


def rebuild() -> None:
    """Every rollup from scratch: every hour noted, the days, the points held, the reports."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO hub_insight_dirty (hour)
            SELECT DISTINCT date_trunc('hour', created_at) FROM hub_entry
            WHERE created_at IS NOT NULL AND status = 'stored'
            UNION
            SELECT DISTINCT date_trunc('hour', created_at) FROM hub_member
            """
        )
    rollup.refresh_days()
    rollup.refresh_liability()
    refresh_snapshots()


@dataclass
class Worker:
    """One round at a time: the noted days and the points held; the nightly reports once a
    chain's day, after NIGHTLY_AFTER (and at the first round, if there are none)."""

    now: Callable[[], datetime] = timezone.now
    last_night: date | None = None
    last_folded: datetime | None = None

    def round(self) -> dict[str, int]:
        """One round; what it did (days worked out, reports made)."""
        days = rollup.refresh_days()
        # The changes to the points held are read with their snapshot (exact either way):
        # folded in when they are many or an hour old, not at every round (a fold reads
        # every balance).
        moment = self.now()
        if (
            self.last_folded is None
            or moment - self.last_folded >= FOLD_EVERY
            or rollup.changes_waiting() >= FOLD_AT
        ):
            rollup.refresh_liability()
            self.last_folded = moment
        made = 0
        local = moment.astimezone(rollup.ROLLUP_TIME_ZONE)
        due = local.date() if local.time() >= NIGHTLY_AFTER else None
        if self.last_night is None and not _any_snapshot():
            due = local.date()
        if due is not None and due != self.last_night:
            made = refresh_snapshots()
            self.last_night = due
        return {"days": days, "reports": made}


def _any_snapshot() -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT EXISTS (SELECT 1 FROM hub_insight_snapshot)")
        row = cursor.fetchone()
    return bool(row and row[0])


def work(stop: threading.Event, worker: Worker | None = None, every: float = EVERY) -> None:
    """Rounds until `stop` is set (a round in hand is finished first)."""
    worker = worker or Worker()
    while not stop.is_set():
        started = time.monotonic()
        try:
            done = worker.round()
            log.info("insights: %(days)d days worked out, %(reports)d reports made", done)
        except Exception:  # a round's failure (the database away) is the next round's to retry
            log.exception("insights: a round failed")
            connection.close()
        stop.wait(max(0.0, every - (time.monotonic() - started)))
