"""The write discipline of kiosk/core/store/db.py: a bug is a bug, a full disk is out of service."""

from __future__ import annotations

from pathlib import Path

import pytest

from kiosk.core.store.db import NestedTransaction, connect, write_transaction
from kiosk.errors import StorageUnavailable


def test_a_nested_write_transaction_is_a_programming_error_not_out_of_service(tmp_path: Path):
    conn = connect(tmp_path / "kiosk.db")

    with pytest.raises(NestedTransaction) as raised:  # noqa: SIM117 - the nesting is the test
        with write_transaction(conn), write_transaction(conn):
            pass  # pragma: no cover - never reached

    assert not isinstance(raised.value, StorageUnavailable)
    assert not conn.in_transaction  # the outer transaction was rolled back


def test_the_outer_transaction_writes_nothing_after_a_nested_one_was_refused(tmp_path: Path):
    conn = connect(tmp_path / "kiosk.db")

    with pytest.raises(NestedTransaction), write_transaction(conn):
        conn.execute("INSERT INTO meta (key, value) VALUES ('probe', 'x')")
        with write_transaction(conn):
            pass  # pragma: no cover - never reached

    assert conn.execute("SELECT COUNT(*) FROM meta WHERE key = 'probe'").fetchone()[0] == 0


def test_a_connection_that_cannot_begin_for_lack_of_storage_is_still_out_of_service(
    tmp_path: Path,
):
    conn = connect(tmp_path / "kiosk.db")
    other = connect(tmp_path / "kiosk.db")
    other.execute("PRAGMA busy_timeout=0")
    conn.execute("BEGIN IMMEDIATE")  # another writer holds the lock: "database is locked"

    try:
        with pytest.raises(StorageUnavailable), write_transaction(other):
            pass  # pragma: no cover - never reached
    finally:
        conn.execute("ROLLBACK")
