"""Time for the core: one injectable clock and the ledger's timestamp format."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

Clock = Callable[[], datetime]
"""A function returning the current time as an aware UTC datetime."""

# Fixed width and always UTC, so that text order is time order in SQLite indexes.
# Format: "%Y-%m-%dT%H:%M:%S.%fZ" (written by to_iso).


def system_clock() -> datetime:
    """The machine's clock, in UTC."""
    return datetime.now(UTC)


def iso_seconds(moment: float) -> str:
    """Epoch seconds as sync state shows a time to a technician (UTC, seconds, 'Z')."""
    return datetime.fromtimestamp(moment, UTC).isoformat(timespec="seconds")[:-6] + "Z"


def to_iso(moment: datetime) -> str:
    """Format an aware datetime the way the ledger stores it (UTC, microseconds, 'Z')."""
    if moment.tzinfo is not UTC:  # the clocks give UTC: the common case converts nothing
        if moment.tzinfo is None:
            raise ValueError("naive datetimes are ambiguous; pass an aware one")
        moment = moment.astimezone(UTC)
    # isoformat is several times faster than strftime and gives the same fixed width
    # ("+00:00" cut off); a lookup formats "now" at every tap, an earn about seven times.
    return moment.isoformat(timespec="microseconds")[:-6] + "Z"


def from_iso(text: str) -> datetime:
    """Read a timestamp written by `to_iso` (or any ISO 8601 time with an offset)."""
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


class ManualClock:
    """A clock that moves only when told to: for tests and simulations."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("ManualClock needs an aware datetime")
        self.now = start.astimezone(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        """Move the clock forward by a timedelta given as keywords (minutes=5)."""
        self.now += timedelta(**delta)
        return self.now
