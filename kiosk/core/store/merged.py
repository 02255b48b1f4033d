"""Members the CRM merged into another: storage only (kiosk/core/pulled.py applies `merge`).

One phone enrolled at two branches while they were offline gives two member ids; the CRM
keeps the first it received (the survivor) and makes the other its alias. Here the alias's
person and cards go to the survivor, so that the phone or a card of either identifies the
survivor; its ledger entries stay as they are (the ledger is append-only and pushed by
sequence number) and count in the survivor's balance (`RemoteBalances.spendable`,
`alias_points`).
"""

from __future__ import annotations

import sqlite3


class MergedMembers:
    """Reads and writes `merged_members`, and moves an alias's person and cards."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def merge(self, alias: str, survivor: str, *, now: str, tier: str) -> None:
        """Make `alias` count as `survivor` (inside the caller's transaction); idempotent."""
        self.conn.execute(
            "INSERT INTO merged_members (member_id, into_id, merged_at) VALUES (?, ?, ?) "
            "ON CONFLICT(member_id) DO NOTHING",
            (alias, survivor, now),
        )
        known = self.conn.execute(
            "SELECT created_at FROM members WHERE member_id = ?", (alias,)
        ).fetchone()
        if known is None:
            return  # enrolled elsewhere: nothing of it here to move
        owed = self._owed(alias, survivor)
        self.conn.execute(
            "INSERT INTO members (member_id, created_at, enrolled_on_device, tier) "
            "VALUES (?, ?, 'crm', ?) ON CONFLICT(member_id) DO NOTHING",
            (survivor, known[0], tier),
        )
        has_person = self.conn.execute(
            "SELECT 1 FROM people WHERE member_id = ?", (survivor,)
        ).fetchone()
        if has_person is None:
            # The consent log stays under the alias: it is what was given, and when.
            # Sealed to its row (kiosk/core/store/vault.py): sealed again for the survivor.
            self.conn.execute(
                "UPDATE people SET member_id = ?1, "
                "sealed = seal(unseal(sealed, 'person:' || member_id), 'person:' || ?1) "
                "WHERE member_id = ?2",
                (survivor, alias),
            )
        else:  # the survivor's own record came first: it holds the phone
            self.conn.execute("DELETE FROM people WHERE member_id = ?", (alias,))
        self.conn.execute("UPDATE cards SET member_id = ? WHERE member_id = ?", (survivor, alias))
        self._restore_owed(alias, survivor, owed)

    def _owed(self, alias: str, survivor: str) -> dict[str, tuple[int, str]]:
        rows = self.conn.execute(
            "SELECT member_id, version, changed_at FROM member_outbox WHERE member_id IN (?, ?)",
            (alias, survivor),
        ).fetchall()
        return {str(r[0]): (int(r[1]), str(r[2])) for r in rows}

    def _restore_owed(self, alias: str, survivor: str, owed: dict[str, tuple[int, str]]) -> None:
        """Undo what the moves' triggers wrote to member_outbox; carry an unpushed change over.

        The CRM holds the alias's record (it merged it), so nothing of the alias is owed any
        more: its record would now read as erased. A change of the alias not pushed yet (a
        card linked since) goes with the survivor's record instead. The survivor's own row
        is kept as it was: the moves are the CRM's doing, not a change made here.
        """
        self.conn.execute("DELETE FROM member_outbox WHERE member_id IN (?, ?)", (alias, survivor))
        version, changed_at = owed.get(survivor, (0, ""))
        pending_alias = owed.get(alias, (0, ""))
        if pending_alias[0] > 0:
            version, changed_at = version + 1, max(changed_at, pending_alias[1])
        if changed_at:
            self.conn.execute(
                "INSERT INTO member_outbox (member_id, version, changed_at) VALUES (?, ?, ?)",
                (survivor, version, changed_at),
            )

    def survivor(self, member_id: str) -> str | None:
        """The member this id was merged into, or None."""
        row = self.conn.execute(
            "SELECT into_id FROM merged_members WHERE member_id = ?", (member_id,)
        ).fetchone()
        return str(row[0]) if row else None

    def alias_points(self, survivor: str) -> int:
        """The points of the survivor's aliases here (their entries' sum)."""
        row = self.conn.execute(
            "SELECT COALESCE(SUM(m.balance), 0) FROM merged_members a "
            "JOIN members m ON m.member_id = a.member_id WHERE a.into_id = ?",
            (survivor,),
        ).fetchone()
        return int(row[0])
