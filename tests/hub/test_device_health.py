"""Each device's health from its heartbeats, with hand-made heartbeats and a given time.

The thresholds are hub/devices/health.py's named constants; each test sits just either
side of one, so a threshold moved without its test moving fails here.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from hub.devices import health
from hub.devices.health import assess

NOW = datetime(2027, 3, 21, 9, 30, tzinfo=UTC)


def beat(**changes: Any) -> dict[str, Any]:
    """A healthy kiosk's heartbeat, as the protocol has it, with `changes`."""
    return {
        "version": "0.1.0",
        "queue_depth": 3,
        "oldest_unsynced_at": "2027-03-21T09:29:00.000000Z",
        "readers": [{"name": "nfc", "state": "connected"}],
        "disk_free_bytes": 8 * 1024**3,
        "clock_offset_ms": -40,
    } | changes


def test_a_kiosk_heard_from_lately_with_nothing_wrong_is_ok():
    found = assess("enrolled", NOW - timedelta(minutes=4), beat(), NOW)

    assert found.state == "ok" and not found.needs_attention and found.reasons == ()
    assert found.queue_depth == 3 and found.readers == (("nfc", "connected"),)
    assert found.oldest_unsynced_at == datetime(2027, 3, 21, 9, 29, tzinfo=UTC)
    assert found.version == "0.1.0" and found.clock_offset_ms == -40
    assert found.state_name.en == "OK" and found.state_name.fa == "سالم"


@pytest.mark.parametrize(
    ("last_seen", "changes", "code"),
    [
        (health.SILENT_AFTER + timedelta(seconds=1), {}, "silent"),
        (timedelta(0), {"queue_depth": health.QUEUE_DEPTH_LIMIT}, "queue"),
        (timedelta(0), {"oldest_unsynced_at": "2027-03-21T08:29:59.000000Z"}, "unsynced"),
        (timedelta(0), {"readers": [{"name": "nfc", "state": "error"}]}, "reader"),
        (timedelta(0), {"readers": [{"name": "rfid", "state": "disconnected"}]}, "reader"),
        (timedelta(0), {"readers": [{"name": "nfc", "state": "connecting"}]}, "reader"),
        (timedelta(0), {"disk_free_bytes": health.DISK_FREE_LIMIT - 1}, "disk"),
        (timedelta(0), {"clock_offset_ms": -health.CLOCK_OFFSET_LIMIT_MS}, "clock"),
    ],
)
def test_each_threshold_crossed_needs_attention_and_says_why_in_both_languages(
    last_seen: timedelta, changes: dict[str, Any], code: str
):
    found = assess("enrolled", NOW - last_seen, beat(**changes), NOW)

    assert found.needs_attention and [r.code for r in found.reasons] == [code]
    (reason,) = found.reasons
    assert reason.said.en and reason.said.fa and not reason.said.fa.isascii()
    assert found.state_name.en == "Needs attention"


@pytest.mark.parametrize(
    ("last_seen", "changes"),
    [
        (health.SILENT_AFTER, {}),
        (timedelta(0), {"queue_depth": health.QUEUE_DEPTH_LIMIT - 1}),
        (timedelta(0), {"oldest_unsynced_at": "2027-03-21T08:30:00.000000Z"}),
        (timedelta(0), {"readers": []}),  # a phone-only kiosk has no reader to report
        (timedelta(0), {"disk_free_bytes": health.DISK_FREE_LIMIT}),
        (timedelta(0), {"clock_offset_ms": health.CLOCK_OFFSET_LIMIT_MS - 1}),
        (timedelta(0), {"oldest_unsynced_at": None, "queue_depth": 0, "clock_offset_ms": None}),
    ],
)
def test_just_short_of_a_threshold_the_kiosk_is_still_ok(
    last_seen: timedelta, changes: dict[str, Any]
):
    assert assess("enrolled", NOW - last_seen, beat(**changes), NOW).state == "ok"


def test_every_reason_is_given_at_once():
    found = assess(
        "enrolled",
        NOW - timedelta(hours=2),
        beat(queue_depth=1200, disk_free_bytes=100 * 1024**2, clock_offset_ms=300_000),
        NOW,
    )

    assert [r.code for r in found.reasons] == ["silent", "queue", "disk", "clock"]
    assert "120 minutes" in found.reasons[0].said.en
    assert "۱۲۰ دقیقه" in found.reasons[0].said.fa
    assert "1200 entries" in found.reasons[1].said.en
    assert "100 MiB" in found.reasons[2].said.en and "300 seconds" in found.reasons[3].said.en


def test_an_enrolled_kiosk_never_heard_from_needs_attention():
    found = assess("enrolled", None, None, NOW)

    assert found.needs_attention and [r.code for r in found.reasons] == ["never_seen"]


@pytest.mark.parametrize(("state", "verdict"), [("waiting", "waiting"), ("revoked", "revoked")])
def test_a_device_waiting_for_its_kiosk_or_revoked_needs_no_attention(state: str, verdict: str):
    found = assess(state, None, None, NOW)

    assert found.state == verdict and not found.needs_attention and found.reasons == ()
