"""Social proof: how many members the club has here (docs/program.md, "Social proof").

The figure is this kiosk's own: the active members of its database (those of its branch,
and any it enrolled), counted offline, so the attract screen says something true of the
shop it names, with or without a hub. Erased members are not counted.
"""

from __future__ import annotations

import sqlite3


def active_members(conn: sqlite3.Connection) -> int:
    """How many active (not erased) members this kiosk holds."""
    return int(conn.execute("SELECT COUNT(*) FROM members WHERE status = 'active'").fetchone()[0])
