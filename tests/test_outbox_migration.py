"""Migration m006 keys the outbox by sequence: a kiosk upgraded with entries queued keeps them."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from sqlite_utils import Database

from kiosk.core.store.db import connect
from kiosk.core.store.outbox import Outbox
from kiosk.core.store.schema import MIGRATIONS

DEVICE = "kiosk-upgrade"
MEMBER = "00000001-0000-4000-8000-000000000001"


def queued_before_m006(path: Path) -> None:
    """A database at m005 with three entries queued, the second one flagged as rejected."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA foreign_keys=ON")
    MIGRATIONS.apply(Database(conn), stop_before="m006_outbox_by_seq")
    conn.execute("BEGIN")
    conn.execute(
        "INSERT INTO members (member_id, created_at, enrolled_on_device, tier) "
        "VALUES (?, '2026-11-01T08:00:00.000000Z', ?, 'bronze')",
        (MEMBER, DEVICE),
    )
    for seq in (1, 2, 3):
        entry_id = f"00000000-0000-4000-8000-00000000000{seq}"
        conn.execute(
            "INSERT INTO entries (entry_id, device_id, seq, kind, member_id, points, amount, "
            "currency, cashier_id, created_at) VALUES (?, ?, ?, 'earn', ?, 10, 1000000, 'IRR', "
            "'s-1', '2026-11-01T09:00:00.000000Z')",
            (entry_id, DEVICE, seq, MEMBER),
        )
        conn.execute(
            "INSERT INTO outbox (entry_id, device_id, seq, state, error) VALUES (?, ?, ?, ?, ?)",
            (
                entry_id,
                DEVICE,
                seq,
                "rejected" if seq == 2 else "pending",
                "unknown_member" if seq == 2 else None,
            ),
        )
    conn.execute("COMMIT")
    conn.close()


def test_an_upgraded_kiosk_keeps_its_queue_and_its_rejected_entry(tmp_path: Path):
    path = tmp_path / "kiosk.db"
    queued_before_m006(path)

    conn = connect(path)  # migrates to the newest schema
    outbox = Outbox(conn, DEVICE)
    batch = outbox.next_batch(10)

    assert [entry["seq"] for entry in batch.entries] == [1, 3]
    assert outbox.depth() == (2, 1)
    assert outbox.rejected() == [
        {"entry_id": "00000000-0000-4000-8000-000000000002", "seq": 2, "code": "unknown_member"}
    ]
    assert outbox.acknowledge(batch, 3, []) == (2, 0)
    assert outbox.depth() == (0, 1)
    key = conn.execute("SELECT name FROM pragma_index_list('outbox')").fetchall()
    assert [row[0] for row in key] == ["sqlite_autoindex_outbox_1"]  # the (device, seq) key
    conn.close()
