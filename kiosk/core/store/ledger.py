"""The append-only points ledger: entries, the materialised balance, lots and the outbox.

Every method that writes expects to run inside `kiosk.core.store.db.write_transaction`, so that the
entry, the member's balance, the lots and the outbox marker commit together or not at all.
"""

from __future__ import annotations

import operator
import sqlite3
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

from kiosk.core.store import chain

EntryKind = Literal["earn", "redeem", "bonus", "adjust", "expire", "reversal"]
ENTRY_KINDS: tuple[EntryKind, ...] = ("earn", "redeem", "bonus", "adjust", "expire", "reversal")
CREDIT_KINDS = frozenset({"earn", "bonus", "adjust"})
REVERSIBLE_KINDS = frozenset({"earn", "redeem"})


@dataclass(frozen=True)
class Entry:
    """One ledger entry as stored."""

    entry_id: str
    device_id: str
    seq: int
    kind: EntryKind
    member_id: str
    points: int
    amount: int | None
    currency: str | None
    cashier_id: str | None
    created_at: str
    client_txn_id: str | None
    reverses: str | None
    reward_id: str | None
    coupon_code: str | None
    reason: str | None
    expires_at: str | None

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Entry:
        """Build an entry from a row of the `entries` table."""
        return cls(**{name: row[name] for name in _ENTRY_COLUMNS})

    def as_dict(self) -> dict[str, object]:
        """The entry as a plain dict (for JSON and CSV export)."""
        return {name: getattr(self, name) for name in _ENTRY_COLUMNS}


_ENTRY_COLUMNS = tuple(Entry.__dataclass_fields__)
_ENTRY_VALUES = operator.attrgetter(*_ENTRY_COLUMNS)  # the row to insert, in C: every earn
_INSERT_ENTRY = (
    f"INSERT INTO entries ({', '.join(_ENTRY_COLUMNS)}, hash) "
    f"VALUES ({', '.join('?' for _ in _ENTRY_COLUMNS)}, ?)"
)


class Ledger:
    """Appends entries for one device and keeps balances, lots and the outbox in step."""

    def __init__(self, conn: sqlite3.Connection, device_id: str) -> None:
        self.conn = conn
        self.device_id = device_id
        self.last_balance = 0  # the balance after the last append

    # -- writing -----------------------------------------------------------------

    def append(
        self,
        *,
        kind: EntryKind,
        member_id: str,
        points: int,
        created_at: str,
        amount: int | None = None,
        currency: str | None = None,
        cashier_id: str | None = None,
        client_txn_id: str | None = None,
        reverses: Entry | None = None,
        reward_id: str | None = None,
        coupon_code: str | None = None,
        reason: str | None = None,
        expires_at: str | None = None,
        lot_id: str | None = None,
        balance_before: int | None = None,
    ) -> Entry:
        """Append one entry and apply it to the balance, the lots and the outbox.

        `balance_before`: the member's balance read in this same transaction, if the
        caller has it (saves a query). `last_balance` is the balance after the entry.
        `lot_id` names the lot an `expire` entry empties. Callers check the business
        rules (enough points, limits) first; this only keeps the books consistent.
        """
        if kind not in ENTRY_KINDS:
            raise ValueError(f"unknown entry kind {kind!r}")
        if balance_before is None:
            balance_before = self.balance(member_id)
        seq, prev = self._next_link()
        entry = Entry(
            entry_id=str(uuid.uuid4()),
            device_id=self.device_id,
            seq=seq,
            kind=kind,
            member_id=member_id,
            points=points,
            amount=amount,
            currency=currency,
            cashier_id=cashier_id,
            created_at=created_at,
            client_txn_id=client_txn_id,
            reverses=reverses.entry_id if reverses else None,
            reward_id=reward_id,
            coupon_code=coupon_code,
            reason=reason,
            expires_at=expires_at if kind in CREDIT_KINDS and points > 0 else None,
        )
        values = _ENTRY_VALUES(entry)
        link = chain.ledger_hash(prev, dict(zip(_ENTRY_COLUMNS, values, strict=True)))
        self.conn.execute(_INSERT_ENTRY, (*values, link))
        chain.seal(
            self.conn, chain.ledger_chain(self.device_id), seq, link, chain.Head(seq - 1, prev)
        )
        self.conn.execute(
            "UPDATE members SET balance = balance + ? WHERE member_id = ?", (points, member_id)
        )
        self.conn.execute(
            "INSERT INTO outbox (entry_id, device_id, seq) VALUES (?, ?, ?)",
            (entry.entry_id, self.device_id, seq),
        )
        self._apply_to_lots(entry, balance_before, reverses, lot_id)
        if kind == "earn":
            self._count_earned(member_id, created_at, points)
        elif kind == "reversal" and reverses is not None and reverses.kind == "earn":
            self._count_earned(member_id, reverses.created_at, points)
        self.last_balance = balance_before + points
        return entry

    def _count_earned(self, member_id: str, created_at: str, points: int) -> None:
        # The purchase's own UTC day: a void takes its points back from that day.
        self.conn.execute(
            "INSERT INTO earned_days (member_id, day, points) VALUES (?, ?, ?) "
            "ON CONFLICT (member_id, day) DO UPDATE SET points = points + excluded.points",
            (member_id, created_at[:10], points),
        )

    def _next_link(self) -> tuple[int, str]:
        """The next sequence number and the hash it chains to, in one probe of the index."""
        head = chain.ledger_head(self.conn, self.device_id)
        return head.at + 1, head.hash

    def _apply_to_lots(
        self, entry: Entry, balance_before: int, reverses: Entry | None, lot_id: str | None
    ) -> None:
        if entry.points > 0 and entry.kind in CREDIT_KINDS:
            self._open_lot(entry, balance_before)
        elif entry.points < 0 and entry.kind == "reversal" and reverses is not None:
            # Voiding an earn takes back that earn's own lot first.
            self._consume(entry, -entry.points, first_lot=reverses.entry_id)
        elif entry.points < 0:
            self._consume(entry, -entry.points, first_lot=lot_id)
        elif entry.points > 0 and entry.kind == "reversal" and reverses is not None:
            self._restore(entry, reverses, balance_before)

    def _open_lot(self, entry: Entry, balance_before: int) -> None:
        # A negative balance (left by a void) is a debt: new points repay it first.
        remaining = min(entry.points, max(0, balance_before + entry.points))
        self.conn.execute(
            "INSERT INTO lots (lot_id, member_id, expires_at, remaining) VALUES (?, ?, ?, ?)",
            (entry.entry_id, entry.member_id, entry.expires_at, remaining),
        )
        if remaining < entry.points:
            self._move(entry.entry_id, entry.entry_id, remaining - entry.points)

    def _consume(self, entry: Entry, wanted: int, first_lot: str | None) -> None:
        """Take `wanted` points from the member's lots, the named one first, then oldest first."""
        for lot_id, remaining in self._open_lots(entry.member_id, first_lot):
            if wanted == 0:
                break
            take = min(remaining, wanted)
            self.conn.execute(
                "UPDATE lots SET remaining = remaining - ? WHERE lot_id = ?", (take, lot_id)
            )
            self._move(entry.entry_id, lot_id, -take)
            wanted -= take
        # Whatever is still wanted is now a negative balance (only a reversal gets here).

    def _open_lots(self, member_id: str, first_lot: str | None) -> Iterator[tuple[str, int]]:
        if first_lot is not None:
            row = self.conn.execute(
                "SELECT remaining FROM lots WHERE lot_id = ? AND remaining > 0", (first_lot,)
            ).fetchone()
            if row is not None:
                yield first_lot, int(row[0])
        # Oldest expiry first; lots that never expire last; ties in order of earning.
        rows = self.conn.execute(
            "SELECT lot_id, remaining FROM lots WHERE member_id = ? AND remaining > 0 "
            "ORDER BY expires_at IS NULL, expires_at, rowid",
            (member_id,),
        ).fetchall()
        for lot_id, remaining in rows:
            if lot_id != first_lot:
                yield lot_id, int(remaining)

    def _restore(self, entry: Entry, redemption: Entry, balance_before: int) -> None:
        """Give back to the lots a voided redemption took from (after repaying any debt)."""
        to_restore = entry.points - min(entry.points, max(0, -balance_before))
        moves = self.conn.execute(
            "SELECT lot_id, -points FROM lot_moves WHERE entry_id = ? AND points < 0 "
            "ORDER BY rowid",
            (redemption.entry_id,),
        ).fetchall()
        for lot_id, taken in moves:
            if to_restore == 0:
                break
            give = min(int(taken), to_restore)
            self.conn.execute(
                "UPDATE lots SET remaining = remaining + ? WHERE lot_id = ?", (give, lot_id)
            )
            self._move(entry.entry_id, lot_id, give)
            to_restore -= give

    def _move(self, entry_id: str, lot_id: str, points: int) -> None:
        self.conn.execute(
            "INSERT INTO lot_moves (entry_id, lot_id, points) VALUES (?, ?, ?)",
            (entry_id, lot_id, points),
        )

    # -- reading -----------------------------------------------------------------

    def balance(self, member_id: str) -> int:
        """The member's materialised balance (the sum of their entries)."""
        row = self.conn.execute(
            "SELECT balance FROM members WHERE member_id = ?", (member_id,)
        ).fetchone()
        if row is None:
            raise KeyError(member_id)
        return int(row[0])

    def get(self, entry_id: str) -> Entry | None:
        """The entry with this id, or None."""
        row = self.conn.execute("SELECT * FROM entries WHERE entry_id = ?", (entry_id,)).fetchone()
        return Entry.from_row(row) if row else None

    def by_client_txn(self, client_txn_id: str) -> Entry | None:
        """The entry written for this client transaction id, or None."""
        row = self.conn.execute(
            "SELECT * FROM entries WHERE client_txn_id = ?", (client_txn_id,)
        ).fetchone()
        return Entry.from_row(row) if row else None

    def reversal_of(self, entry_id: str) -> Entry | None:
        """The entry that reverses `entry_id`, if any."""
        row = self.conn.execute("SELECT * FROM entries WHERE reverses = ?", (entry_id,)).fetchone()
        return Entry.from_row(row) if row else None

    def due_lots(self, now: str, member_id: str | None = None) -> list[tuple[str, str, int]]:
        """Lots past their expiry with points left: (lot_id, member_id, remaining)."""
        if member_id is None:
            rows = self.conn.execute(
                "SELECT lot_id, member_id, remaining FROM lots "
                "WHERE remaining > 0 AND expires_at <= ? ORDER BY expires_at",
                (now,),
            )
        else:
            rows = self.conn.execute(
                "SELECT lot_id, member_id, remaining FROM lots "
                "WHERE member_id = ? AND remaining > 0 AND expires_at <= ? ORDER BY expires_at",
                (member_id, now),
            )
        return [(str(a), str(b), int(c)) for a, b, c in rows]

    def entries(self, *, since_seq: int = 0) -> Iterator[Entry]:
        """Every entry in sequence order (this device first, then any other device's)."""
        cursor = self.conn.execute(
            "SELECT * FROM entries WHERE seq > ? ORDER BY device_id = ? DESC, device_id, seq",
            (since_seq, self.device_id),
        )
        for row in cursor:
            yield Entry.from_row(row)


@dataclass(frozen=True)
class EarnHistory:
    """A member's recent purchases, as the points rules and the fraud limits need them."""

    earned_in_window: int  # points from purchases (not voided) in the tier window
    # Purchases (not voided) that earned points since the start of the shop's day: one too
    # small to earn anything uses up none of the day's limit.
    earns_today: int
    # Purchases (not voided) that earned points within the minimum spacing, and the time of
    # the last of them: a purchase below the minimum earned nothing, so it starts no wait.
    earns_recent: int
    last_recent_at: str | None = None


class LedgerHistory:
    """Read-only questions about one member's history, each answered from an index."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def redeemed_since(self, member_id: str, device_id: str, since: str) -> int:
        """Points the member redeemed at `device_id` since `since` (a positive number)."""
        row = self.conn.execute(
            "SELECT COALESCE(-SUM(points), 0) FROM entries WHERE member_id = ? "
            "AND device_id = ? AND kind = 'redeem' AND created_at >= ?",
            (member_id, device_id, since),
        ).fetchone()
        return int(row[0])

    def size(self) -> int:
        """How many entries the ledger holds (from the rowid: no scan of a long ledger)."""
        return int(self.conn.execute("SELECT MAX(rowid) FROM entries").fetchone()[0] or 0)

    def earned_since(self, member_id: str, since: str) -> int:
        """Points from purchases since `since`, not counting voided ones.

        Whole days after `since` come from the daily totals; only `since`'s own day is
        summed from its entries. However long the member's history, this reads at most
        one row per day of the window and one day of entries.
        """
        day = since[:10]
        next_day = (date.fromisoformat(day) + timedelta(days=1)).isoformat()
        row = self.conn.execute(
            "SELECT COALESCE((SELECT SUM(points) FROM earned_days "
            "                 WHERE member_id = :member AND day > :day), 0) "
            "     + COALESCE((SELECT SUM(e.points) FROM entries e "
            "                 WHERE e.member_id = :member AND e.created_at >= :since "
            "                   AND e.created_at < :next AND e.kind = 'earn' "
            "                   AND NOT EXISTS "
            "                       (SELECT 1 FROM entries r WHERE r.reverses = e.entry_id)"
            "                ), 0)",
            {"member": member_id, "day": day, "since": since, "next": next_day},
        ).fetchone()
        return int(row[0])

    def earn_history(
        self, member_id: str, *, window_since: str, day_start: str, recent_start: str
    ) -> EarnHistory:
        """What deciding a purchase needs, in one query: points earned since `window_since`
        (as `earned_since`) and purchases (not voided) since `day_start` and `recent_start`.

        One statement instead of two: an earn runs it while the shopper waits.
        """
        day = window_since[:10]
        next_day = (date.fromisoformat(day) + timedelta(days=1)).isoformat()
        row = self.conn.execute(
            "SELECT COALESCE((SELECT SUM(points) FROM earned_days "
            "                 WHERE member_id = :member AND day > :day), 0) "
            "     + COALESCE((SELECT SUM(e.points) FROM entries e "
            "                 WHERE e.member_id = :member AND e.created_at >= :since "
            "                   AND e.created_at < :next AND e.kind = 'earn' "
            "                   AND NOT EXISTS "
            "                       (SELECT 1 FROM entries r WHERE r.reverses = e.entry_id)"
            "                ), 0), "
            "  c.today, c.recent, c.last_recent FROM ("
            "    SELECT COUNT(*) FILTER (WHERE e.created_at >= :today AND e.points > 0) "
            "             AS today, "
            "           COUNT(*) FILTER (WHERE e.created_at >= :recent AND e.points > 0) "
            "             AS recent, "
            "           MAX(e.created_at) FILTER (WHERE e.created_at >= :recent AND e.points > 0) "
            "             AS last_recent "
            "    FROM entries e WHERE e.member_id = :member "
            "    AND e.created_at >= MIN(:today, :recent) AND e.kind = 'earn' "
            "    AND NOT EXISTS (SELECT 1 FROM entries r WHERE r.reverses = e.entry_id)) c",
            {
                "member": member_id,
                "day": day,
                "since": window_since,
                "next": next_day,
                "today": day_start,
                "recent": recent_start,
            },
        ).fetchone()
        return EarnHistory(int(row[0]), int(row[1]), int(row[2]), row[3])

    def expiring(self, member_id: str, until: str) -> tuple[int, str | None]:
        """Points that expire by `until`, and the first expiry date among them."""
        row = self.conn.execute(
            "SELECT COALESCE(SUM(remaining), 0), MIN(expires_at) FROM lots "
            "WHERE member_id = ? AND remaining > 0 AND expires_at <= ?",
            (member_id, until),
        ).fetchone()
        return int(row[0]), row[1]

    def recent(
        self, member_id: str | None = None, *, kinds: tuple[str, ...] = (), limit: int = 10
    ) -> list[Entry]:
        """The latest entries, newest first, of one member or of the whole kiosk."""
        where, params = [], []
        if member_id is not None:
            where.append("member_id = ?")
            params.append(member_id)
        if kinds:
            where.append(f"kind IN ({', '.join('?' for _ in kinds)})")
            params.extend(kinds)
        clause = f"WHERE {' AND '.join(where)}" if where else ""
        order = "created_at DESC" if member_id is not None else "rowid DESC"
        rows = self.conn.execute(
            f"SELECT * FROM entries {clause} ORDER BY {order} LIMIT ?", (*params, limit)
        ).fetchall()
        return [Entry.from_row(row) for row in rows]

    def is_reversed(self, entry_id: str) -> bool:
        """Whether some entry reverses this one."""
        row = self.conn.execute("SELECT 1 FROM entries WHERE reverses = ?", (entry_id,)).fetchone()
        return row is not None
