"""Settings a technician changes on the device itself; the config file stays the base."""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Callable
from datetime import datetime

from kiosk.core.clock import to_iso
from kiosk.core.store import audit
from kiosk.core.store.db import write_transaction
from kiosk.core.store.staff import Actor
from kiosk.errors import InvalidInput

# The keys a technician may set, with the values each allows.
ALLOWED: dict[str, tuple[str, ...]] = {
    "default_language": ("fa", "en"),
}


class SettingsStore:
    """Reads and writes the device's own settings; every change is audited."""

    def __init__(self, conn: sqlite3.Connection, clock: Callable[[], datetime]) -> None:
        self.conn = conn
        self.clock = clock

    def get(self, key: str, default: str) -> str:
        """The value set on the device, or `default` (usually from the config)."""
        row = self.conn.execute("SELECT value FROM settings WHERE key = ?", (key,)).fetchone()
        return str(row[0]) if row else default

    def set(self, key: str, value: str, *, actor: Actor) -> None:
        """Change a setting; only the keys and values in ALLOWED are accepted."""
        actor.require("settings")
        if value not in ALLOWED.get(key, ()):
            raise InvalidInput(f"{key} cannot be set to {value!r}.")
        stamp = to_iso(self.clock())
        with write_transaction(self.conn):
            self.conn.execute(
                "INSERT INTO settings (key, value, updated_at, updated_by) VALUES (?, ?, ?, ?) "
                "ON CONFLICT(key) DO UPDATE SET value = excluded.value, "
                "updated_at = excluded.updated_at, updated_by = excluded.updated_by",
                (key, value, stamp, actor.actor_id),
            )
            audit.record(
                self.conn,
                at=stamp,
                actor=actor.actor_id,
                action="settings.set",
                target=key,
                details={"value": value},
            )


def storage_writable(conn: sqlite3.Connection) -> bool:
    """Whether the database takes a write now, all the way to the disk.

    A page-allocating insert is committed (so SQLite writes and syncs it: a full disk or
    an I/O error shows, which a rolled-back insert held in the page cache would not),
    then deleted again. Two small commits; called every few seconds only while out of
    service, and when a technician looks.
    """
    try:
        for statement in (
            "INSERT INTO write_probe (data) VALUES (zeroblob(65536))",
            "DELETE FROM write_probe",
        ):
            conn.execute("BEGIN IMMEDIATE")
            try:
                conn.execute(statement)
                conn.execute("COMMIT")
            finally:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
    except sqlite3.Error:
        return False
    return True


class DeviceIdentity:
    """The device id kept in the database (the `meta` table), so it survives a config change."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def stored(self) -> str | None:
        """The id the database keeps, if any (read only)."""
        row = self.conn.execute("SELECT value FROM meta WHERE key = 'device_id'").fetchone()
        return str(row[0]) if row else None

    def device_id(self, configured: str) -> str:
        """The configured id (stored), else the stored one, else a new one (stored)."""
        stored = self.stored()
        if configured and stored != configured:
            with write_transaction(self.conn):
                self.conn.execute(
                    "INSERT INTO meta (key, value) VALUES ('device_id', ?) "
                    "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                    (configured,),
                )
            return configured
        if stored is not None:
            return stored
        new_id = f"kiosk-{uuid.uuid4().hex[:12]}"
        with write_transaction(self.conn):
            # OR IGNORE: a process starting at the same moment may have stored its own.
            self.conn.execute(
                "INSERT OR IGNORE INTO meta (key, value) VALUES ('device_id', ?)", (new_id,)
            )
        return self.stored() or new_id
