"""What the sync worker reports: why a push or pull stopped, and the state of the queue.

In the core, not in sync/, because the counter (kiosk/ui) shows it and must not import
the network side.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any


class StopReason(StrEnum):
    """Why a push (drain) or a pull stopped; the values are what `kiosk sync` prints."""

    EMPTY = "empty"  # push: every entry was acknowledged
    LIMIT = "limit"  # push: the batch limit of this cycle was reached
    DONE = "done"  # pull: every page was applied
    BACKOFF = "backoff"  # a failure that is retried after the backoff
    ERROR = "error"  # a failure that retrying will not fix (a bug, a refused request)
    CREDENTIALS = "credentials"  # the CRM refused this kiosk's credentials: stopped
    NOT_CONFIGURED = "not_configured"  # no CRM URL
    SECRET_EXPOSED = "secret_exposed"  # the device secret is readable by others: stopped

    @property
    def reached_crm(self) -> bool:
        """Whether the CRM answered the last request (the counter shows "online")."""
        return self in (StopReason.EMPTY, StopReason.LIMIT, StopReason.DONE)


@dataclass(frozen=True)
class SyncStatus:
    """The queue and the last exchanges with the CRM: `kiosk sync status` and the counter."""

    configured: bool
    queue_depth: int = 0
    rejected: int = 0
    oldest_unsynced_at: str | None = None
    last_success_at: str | None = None
    last_error: str | None = None
    last_error_code: str | None = None
    last_error_at: str | None = None
    next_attempt_at: str | None = None
    credentials_refused: bool = False
    clock_offset_seconds: float | None = None
    last_pull_at: str | None = None
    last_heartbeat_at: str | None = None
    pull_cursor: int = 0
    # The last time the CRM was found to have gone back (restored from a backup) and what
    # was owed it again: {"at", "to", "from", "entries", "members"} (sync/rewind.py).
    last_rewind: dict[str, Any] | None = None
    # The last time the CRM's change feed was found numbered again (restored to an earlier
    # point) and read again from 0: {"at", "from"} (sync/feed_epoch.py).
    last_feed_reset: dict[str, Any] | None = None
    # Set by the background worker after a cycle: how it ended and what a pull applied.
    stopped: StopReason | None = None
    pulled: dict[str, int] = field(default_factory=dict)

    @property
    def online(self) -> bool:
        """The CRM answered the last cycle."""
        return self.stopped is not None and self.stopped.reached_crm

    @property
    def program_changed(self) -> bool:
        """The last pull applied a new program (the counter reloads it)."""
        return bool(self.pulled.get("program"))

    def as_dict(self) -> dict[str, Any]:
        """Plain data for `kiosk sync status --json` (the worker's fields, not the cycle's)."""
        data = asdict(self)
        del data["stopped"], data["pulled"]
        return data
