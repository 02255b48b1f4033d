"""A device's health from its last heartbeat (docs/sync-protocol.md, "Heartbeat").

What the panel shows of each kiosk: when it was last heard from, its queue of entries not
yet pushed and the oldest of them, its card readers, its free disk, its clock's offset and
its software version, and whether it needs attention, with every reason. Pure: the caller
gives the device's state, what it last sent and when, and the time now (tests give theirs).

The thresholds (each a named constant below, with why) are the kiosk's own rhythms: a
heartbeat every 5 minutes (`crm.heartbeat_interval_seconds`), a push every 30 seconds of
at most 500 entries (`crm.batch_size`), the protocol's 300-second signature window. They
are the dashboard's too (hub/insights/devices.py `Thresholds`, the same values), so that
a device is flagged on both pages or on neither.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from hub.formats import parse_timestamp
from hub.program.wording import Text, persian_digits

# Twelve heartbeats missed (one every 5 minutes): off, unplugged or cut from the network.
SILENT_AFTER = timedelta(hours=1)
# Two push batches (500 entries each) waiting: the network, or the hub refusing pushes.
QUEUE_DEPTH_LIMIT = 1000
# An entry not pushed for an hour while a push goes every 30 s: the hub's balances, and
# other branches' offline allowance, miss it meanwhile.
UNSYNCED_AGE_LIMIT = timedelta(hours=1)
# Below this the kiosk's database, its backups and its logs may soon fail to be written.
DISK_FREE_LIMIT = 500 * 1024 * 1024
# Half the protocol's 300-second signature window: the kiosk signs with its measured
# offset, but a clock this far off stamps the ledger's entries wrongly (receipts, tier
# windows, "too soon" checks), and one that drifts further is refused.
CLOCK_OFFSET_LIMIT_MS = 150_000
# A reader in any other state does not read a card tapped now (drivers/base.py ReaderState).
READER_UP = "connected"

OK, ATTENTION, WAITING, REVOKED = "ok", "attention", "waiting", "revoked"
STATES = {
    OK: Text("سالم", "OK"),
    ATTENTION: Text("نیاز به رسیدگی", "Needs attention"),
    WAITING: Text("در انتظار راه‌اندازی", "Waiting to be set up"),
    REVOKED: Text("لغو شده", "Revoked"),
}


@dataclass(frozen=True)
class Reason:
    """One reason a device needs attention: a code for tests and CSS, and what to say."""

    code: str
    said: Text


@dataclass(frozen=True)
class Health:
    """What the last heartbeat says, and the verdict."""

    state: str
    reasons: tuple[Reason, ...] = ()
    last_seen_at: datetime | None = None
    queue_depth: int | None = None
    oldest_unsynced_at: datetime | None = None
    readers: tuple[tuple[str, str], ...] = ()
    disk_free_bytes: int | None = None
    clock_offset_ms: int | None = None
    version: str | None = None

    @property
    def needs_attention(self) -> bool:
        """Whether someone should look at this kiosk."""
        return self.state == ATTENTION

    @property
    def state_name(self) -> Text:
        """The verdict in words."""
        return STATES[self.state]


def assess(
    state: str, last_seen_at: datetime | None, heartbeat: dict[str, Any] | None, now: datetime
) -> Health:
    """The health of a device in `state` (revoked, enrolled, waiting) at `now`."""
    beat = heartbeat or {}
    oldest = beat.get("oldest_unsynced_at")
    figures: dict[str, Any] = {
        "last_seen_at": last_seen_at,
        "queue_depth": beat.get("queue_depth"),
        "oldest_unsynced_at": parse_timestamp(oldest) if isinstance(oldest, str) else None,
        "readers": tuple((str(r["name"]), str(r["state"])) for r in beat.get("readers") or ()),
        "disk_free_bytes": beat.get("disk_free_bytes"),
        "clock_offset_ms": beat.get("clock_offset_ms"),
        "version": beat.get("version"),
    }
    if state == "revoked":
        return Health(REVOKED, **figures)
    if state == "waiting":
        return Health(WAITING, **figures)
    reasons = _reasons(now, **figures)
    return Health(ATTENTION if reasons else OK, tuple(reasons), **figures)


def _reasons(
    now: datetime,
    *,
    last_seen_at: datetime | None,
    queue_depth: int | None,
    oldest_unsynced_at: datetime | None,
    readers: tuple[tuple[str, str], ...],
    disk_free_bytes: int | None,
    clock_offset_ms: int | None,
    version: str | None,
) -> list[Reason]:
    found: list[Reason] = []
    if last_seen_at is None:
        found.append(
            Reason(
                "never_seen",
                Text("از راه‌اندازی تا کنون خبری نداده است.", "Not heard from since it enrolled."),
            )
        )
    elif now - last_seen_at > SILENT_AFTER:
        minutes = int((now - last_seen_at).total_seconds() // 60)
        found.append(
            Reason(
                "silent",
                Text(
                    f"{persian_digits(minutes)} دقیقه است که خبری نداده (خاموش یا بی‌شبکه؟).",
                    f"Not heard from for {minutes} minutes (off, or off the network?).",
                ),
            )
        )
    if queue_depth is not None and queue_depth >= QUEUE_DEPTH_LIMIT:
        found.append(
            Reason(
                "queue",
                Text(
                    f"{persian_digits(queue_depth)} ثبت هنوز به سرور نرسیده است.",
                    f"{queue_depth} entries have not reached the hub yet.",
                ),
            )
        )
    if oldest_unsynced_at is not None and now - oldest_unsynced_at > UNSYNCED_AGE_LIMIT:
        hours = int((now - oldest_unsynced_at).total_seconds() // 3600)
        found.append(
            Reason(
                "unsynced",
                Text(
                    f"قدیمی‌ترین ثبتِ نرسیده {persian_digits(hours)} ساعت پیش است.",
                    f"Its oldest entry not yet pushed is {hours} hours old.",
                ),
            )
        )
    for name, reader_state in readers:
        if reader_state != READER_UP:
            found.append(
                Reason(
                    "reader",
                    Text(
                        f"کارت‌خوان {name} کار نمی‌کند ({reader_state}).",
                        f"Card reader {name} is not working ({reader_state}).",
                    ),
                )
            )
    if disk_free_bytes is not None and disk_free_bytes < DISK_FREE_LIMIT:
        mib = disk_free_bytes // (1024 * 1024)
        found.append(
            Reason(
                "disk",
                Text(
                    f"فقط {persian_digits(mib)} مگابایت جای خالی مانده است.",
                    f"Only {mib} MiB of disk left.",
                ),
            )
        )
    if clock_offset_ms is not None and abs(clock_offset_ms) >= CLOCK_OFFSET_LIMIT_MS:
        seconds = abs(clock_offset_ms) // 1000
        found.append(
            Reason(
                "clock",
                Text(
                    f"ساعت دستگاه {persian_digits(seconds)} ثانیه با سرور فرق دارد.",
                    f"Its clock is {seconds} seconds off the hub's.",
                ),
            )
        )
    return found
