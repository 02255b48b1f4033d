"""Who reads the figures and where: the branches they may see, the chain's time zone."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.utils import timezone

# The hub keeps no time zone of the chain (its settings are UTC, the program has none):
# the panel passes it in; Tehran's is the default for a chain that has not said.
CHAIN_TIME_ZONE = ZoneInfo("Asia/Tehran")


@dataclass(frozen=True)
class Scope:
    """The branches a reader may see (None: every branch) and the chain's time zone."""

    branch_ids: frozenset[int] | None = None
    tz: ZoneInfo = field(default=CHAIN_TIME_ZONE)

    @property
    def tz_name(self) -> str:
        """The zone's IANA name, as PostgreSQL's AT TIME ZONE takes it."""
        return self.tz.key

    def branch_list(self) -> list[int] | None:
        """The branch ids as a list for a query parameter (sorted), or None for every one."""
        return None if self.branch_ids is None else sorted(self.branch_ids)

    def today(self, now: datetime | None = None) -> date:
        """The chain's date now."""
        return (now or timezone.now()).astimezone(self.tz).date()

    def start_of(self, day: date) -> datetime:
        """The moment `day` begins in the chain's time zone (an aware datetime)."""
        return datetime.combine(day, time(0), tzinfo=self.tz)

    def days(self, first: date, last: date) -> tuple[datetime, datetime]:
        """The moments from the start of `first` to the start of the day after `last`."""
        return self.start_of(first), self.start_of(last + timedelta(days=1))


def sees(scope: Scope, branch_id: int | None) -> bool:
    """Whether a row of this branch is within the scope."""
    return scope.branch_ids is None or branch_id in scope.branch_ids
