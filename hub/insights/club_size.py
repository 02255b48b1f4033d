"""The chain's size for the kiosks' attract screens (docs/program.md, "Social proof").

Every kiosk heartbeats about once a minute and its answer carries the chain's count of
members while the program in force shows the club's size (`show_member_count`): the
count is of members who are neither erased nor merged into another (one person, one
member), across every branch. Counting a million rows at every heartbeat of every kiosk
would cost more than all the rest of their syncing, so each hub process keeps the count
for `KEPT_SECONDS` and counts again after; the figure is a size to show, and a few
minutes late is as true of it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from django.db import connection

from hub.program.models import Program

KEPT_SECONDS = 600.0
_lock = threading.Lock()
_kept: dict[str, float] = {}


def shown() -> bool:
    """Whether the program in force shows the club's size on the kiosks."""
    found = (
        Program.objects.order_by("-version")
        .values_list("data__show_member_count", flat=True)
        .first()
    )
    return found is True


def chain_members(clock: Callable[[], float] = time.monotonic) -> int:
    """The chain's members (not erased, not merged), counted at most every KEPT_SECONDS."""
    with _lock:
        now = clock()
        if "count" in _kept and now - _kept["at"] < KEPT_SECONDS:
            return int(_kept["count"])
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM hub_member WHERE status = 'active' AND merged_into IS NULL"
            )
            (count,) = cursor.fetchone()
        _kept.update(count=int(count), at=now)
        return int(count)


def forget() -> None:
    """Count again at the next ask (tests, and a bulk import)."""
    with _lock:
        _kept.clear()
