"""What the hub refuses beyond the simulated CRM: what PostgreSQL cannot hold.

The simulator keeps bodies as SQLite text; the hub keeps typed columns and jsonb, which
take no impossible date, no NUL, no NaN. Each is refused as the protocol says (a bad
member record is 400, a bad entry `invalid_entry`) before it reaches a query: stored as it
came, it would fail the push every time the kiosk repeats it.
"""

from __future__ import annotations

import pytest

from tests.hub.wire import Server, Wire, error_code, member, new_id, outcome


@pytest.mark.parametrize(
    "fields",
    [
        {"created_at": "2026-02-30T09:00:00.000000Z"},  # the shape of a time, not one
        {"name": "Sa\x00ra"},  # PostgreSQL stores no NUL
        {"birthday": "1990-13-01"},
        {"note": float("nan")},  # Python's json reads NaN; jsonb does not
    ],
)
def test_the_hub_refuses_what_postgresql_cannot_hold_as_a_bad_request(
    hub_server_shared: Server, fields
):
    wire = Wire(hub_server_shared)
    someone = new_id()

    answer = wire.push([wire.entry(1, someone)], [member(someone, **fields)])

    assert error_code(answer) == (400, "bad_request")


def test_the_hub_keeps_an_entry_postgresql_cannot_hold_as_invalid(hub_server_shared: Server):
    wire = Wire(hub_server_shared)
    someone = new_id()
    impossible = wire.entry(1, someone, created_at="2026-02-30T09:00:00.000000Z")
    nul = wire.entry(2, "m-\x00") | {"points": float("inf")}

    answer = outcome(wire.push([impossible, nul], [member(someone)]))

    assert answer["rejected"] == [(1, "invalid_entry"), (2, "invalid_entry")]
    assert answer["high_water"] == 2


def test_the_hub_keeps_only_the_protocols_fields_of_a_heartbeat(hub_server_shared: Server):
    wire = Wire(hub_server_shared)
    status = {
        "version": "0.1.0",
        "queue_depth": 0,
        "oldest_unsynced_at": None,
        "readers": [{"name": "nfc", "state": "connected", "extra": float("nan")}],
        "disk_free_bytes": 10,
        "clock_offset_ms": -40,
        "extra": float("inf"),
    }

    assert wire.send("POST", "/v2/heartbeat", status).status_code == 200
