"""The ledger's timestamp format: fixed width, UTC, the same for every way a time arrives."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from kiosk.core.clock import from_iso, to_iso


@pytest.mark.parametrize(
    "moment",
    [
        datetime(2026, 3, 1, 9, 0, tzinfo=UTC),
        datetime(2026, 3, 1, 12, 30, tzinfo=timezone(timedelta(hours=3, minutes=30))),
        datetime(2026, 3, 1, 12, 30, tzinfo=ZoneInfo("Asia/Tehran")),
    ],
    ids=["utc", "offset", "zone"],
)
def test_the_same_instant_is_written_the_same_whatever_its_zone(moment: datetime):
    assert to_iso(moment) == "2026-03-01T09:00:00.000000Z"


def test_microseconds_are_always_written_so_text_order_is_time_order():
    early = to_iso(datetime(2026, 3, 1, 9, 0, 0, tzinfo=UTC))
    later = to_iso(datetime(2026, 3, 1, 9, 0, 0, 5, tzinfo=UTC))

    assert (early, later) == ("2026-03-01T09:00:00.000000Z", "2026-03-01T09:00:00.000005Z")
    assert early < later
    assert from_iso(later) == datetime(2026, 3, 1, 9, 0, 0, 5, tzinfo=UTC)


def test_a_naive_time_is_refused():
    with pytest.raises(ValueError, match="naive"):
        to_iso(datetime(2026, 3, 1, 9, 0))
