"""`kiosk ledger verify`: the ledger's invariants, each checked by one query over the whole file."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field

from kiosk.core.store import chain
from kiosk.core.store.vault import holder_of

# Each check: a name, and a query returning one row per violation (first column: what).
_CHECKS: tuple[tuple[str, str], ...] = (
    (
        "balance equals the sum of entries",
        """SELECT 'member ' || m.member_id || ': balance ' || m.balance
                  || ' but entries sum to ' || COALESCE(s.total, 0)
           FROM members m LEFT JOIN
                (SELECT member_id, SUM(points) AS total FROM entries GROUP BY member_id) s
                ON s.member_id = m.member_id
           WHERE m.balance <> COALESCE(s.total, 0)""",
    ),
    (
        "sequence numbers have no gaps",
        """SELECT 'device ' || device_id || ': ' || COUNT(*) || ' entries numbered '
                  || MIN(seq) || ' to ' || MAX(seq)
           FROM entries GROUP BY device_id
           HAVING MIN(seq) <> 1 OR MAX(seq) <> COUNT(*)""",
    ),
    (
        "every reversal names an earlier earn or redemption of the same member",
        """SELECT 'reversal ' || r.entry_id || ': ' ||
                  CASE WHEN r.reverses IS NULL THEN 'names no entry'
                       WHEN t.entry_id IS NULL THEN 'names a missing entry'
                       WHEN t.kind NOT IN ('earn', 'redeem') THEN 'reverses a ' || t.kind
                       WHEN t.member_id <> r.member_id THEN 'is for another member'
                       WHEN r.points <> -t.points THEN 'does not cancel its entry'
                       ELSE 'is not later than the entry it reverses' END
           FROM entries r LEFT JOIN entries t ON t.entry_id = r.reverses
           WHERE r.kind = 'reversal' AND (
                 t.entry_id IS NULL OR t.kind NOT IN ('earn', 'redeem')
                 OR t.member_id <> r.member_id OR r.points <> -t.points
                 OR (t.device_id = r.device_id AND t.seq >= r.seq)
                 OR t.created_at > r.created_at)""",
    ),
    (
        "only reversals name another entry, and each entry is reversed at most once",
        """SELECT 'entry ' || reverses || ' is reversed ' || COUNT(*) || ' times'
           FROM entries WHERE reverses IS NOT NULL GROUP BY reverses HAVING COUNT(*) > 1
           UNION ALL
           SELECT 'entry ' || entry_id || ' is a ' || kind || ' but names another entry'
           FROM entries WHERE reverses IS NOT NULL AND kind <> 'reversal'""",
    ),
    (
        "the daily purchase totals match the purchases",
        """SELECT 'member ' || COALESCE(d.member_id, s.member_id) || ' on '
                  || COALESCE(d.day, s.day) || ': total ' || COALESCE(d.points, 0)
                  || ' but purchases sum to ' || COALESCE(s.points, 0)
           FROM (SELECT e.member_id, substr(e.created_at, 1, 10) AS day,
                        SUM(e.points) AS points
                 FROM entries e WHERE e.kind = 'earn'
                   AND NOT EXISTS (SELECT 1 FROM entries r WHERE r.reverses = e.entry_id)
                 GROUP BY 1, 2) s
           FULL OUTER JOIN earned_days d ON d.member_id = s.member_id AND d.day = s.day
           WHERE COALESCE(d.points, 0) <> COALESCE(s.points, 0)""",
    ),
    (
        "each lot holds what its credit gave minus what was taken",
        """SELECT 'lot ' || l.lot_id || ': ' || l.remaining || ' left, moves say '
                  || (e.points + COALESCE(m.total, 0))
           FROM lots l JOIN entries e ON e.entry_id = l.lot_id
           LEFT JOIN (SELECT lot_id, SUM(points) AS total FROM lot_moves GROUP BY lot_id) m
                ON m.lot_id = l.lot_id
           WHERE l.remaining <> e.points + COALESCE(m.total, 0)""",
    ),
    (
        "the lots add up to the balance",
        """SELECT 'member ' || m.member_id || ': lots hold ' || COALESCE(s.total, 0)
                  || ' of a balance of ' || m.balance
           FROM members m LEFT JOIN
                (SELECT member_id, SUM(remaining) AS total FROM lots GROUP BY member_id) s
                ON s.member_id = m.member_id
           WHERE COALESCE(s.total, 0) <> MAX(m.balance, 0)""",
    ),
    (
        "every entry not yet acknowledged is in the outbox once",
        """SELECT 'outbox row ' || o.entry_id || ' has sequence ' || o.seq
                  || ' but its entry has ' || COALESCE(e.seq, 'none')
           FROM outbox o LEFT JOIN entries e ON e.entry_id = o.entry_id
           WHERE e.entry_id IS NULL OR e.seq <> o.seq OR e.device_id <> o.device_id""",
    ),
)


@dataclass
class VerifyReport:
    """The outcome of `verify_ledger`: each check's name and the problems it found."""

    entries: int = 0
    members: int = 0
    devices: int = 0
    checks: dict[str, list[str]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """True when no check found a problem."""
        return not any(self.checks.values())

    @property
    def problems(self) -> list[str]:
        """Every problem found, prefixed by its check."""
        return [f"{name}: {p}" for name, found in self.checks.items() for p in found]


def verify_ledger(conn: sqlite3.Connection, *, limit: int = 20) -> VerifyReport:
    """Check the ledger's invariants; at most `limit` problems are listed per check."""
    report = VerifyReport()
    report.entries, report.devices = conn.execute(
        "SELECT COUNT(*), COUNT(DISTINCT device_id) FROM entries"
    ).fetchone()
    report.members = conn.execute("SELECT COUNT(*) FROM members").fetchone()[0]
    for name, query in _CHECKS:
        rows = conn.execute(f"SELECT * FROM ({query}) LIMIT ?", (limit,)).fetchall()
        report.checks[name] = [str(row[0]) for row in rows]
    broken_keys = conn.execute("PRAGMA foreign_key_check").fetchmany(limit)
    report.checks["foreign keys point at existing rows"] = [
        f"{row[0]} row {row[1]} points at a missing {row[2]}" for row in broken_keys
    ]
    report.checks[LEDGER_CHAIN] = list(_ledger_breaks(conn))[:limit]
    report.checks[AUDIT_CHAIN] = list(_audit_breaks(conn))[:limit]
    if holder_of(conn) is not None:  # the seals need the data key (the doctor has it too)
        report.checks[SEALED_HEADS] = list(_unsealed_heads(conn))[:limit]
    return report


LEDGER_CHAIN = "each entry is chained to the one before it (history not rewritten)"
AUDIT_CHAIN = "each audit record is chained to the one before it (history not rewritten)"


SEALED_HEADS = (
    "the ledger and the audit log end where this kiosk sealed them (history not recomputed)"
)


def _unsealed_heads(conn: sqlite3.Connection) -> Iterator[str]:
    """Each chain whose last link is not the one sealed with the data key, or whose seal
    was not made with it: a history rewritten and recomputed to its end, or cut short."""
    heads = {
        chain.ledger_chain(str(device)): chain.ledger_head(conn, str(device))
        for (device,) in conn.execute("SELECT DISTINCT device_id FROM entries")
    }
    audit = chain.audit_head(conn)
    if audit.at:
        heads[chain.AUDIT_CHAIN] = audit
    seals = {
        str(row[0]): (int(row[1]), str(row[2]), str(row[3]))
        for row in conn.execute("SELECT chain, at, hash, mac FROM chain_seals")
    }
    for name in sorted(heads.keys() | seals.keys()):
        head, sealed = heads.get(name), seals.get(name)
        what = "the audit log" if name == chain.AUDIT_CHAIN else name.replace(":", " of ", 1)
        if sealed is None:
            yield f"{what} has no seal: its history was rewritten with the file"
            continue
        at, link, mac = sealed
        try:
            genuine = conn.execute("SELECT chain_mac(?, ?, ?)", (name, at, link)).fetchone()[0]
        except sqlite3.Error:
            yield f"{what}: the seal cannot be checked (the data key does not open)"
            continue
        if genuine != mac:
            yield f"{what}: its seal was not made by this kiosk (forged or copied)"
        elif head is None or (head.at, head.hash) != (at, link):
            end = f"#{head.at}" if head else "nothing"
            yield (
                f"{what} ends at {end}, but this kiosk sealed #{at}: rewritten and "
                "recomputed, or cut short, with the file"
            )


def _ledger_breaks(conn: sqlite3.Connection) -> Iterator[str]:
    """The first broken link of each device's chain: where its history was rewritten.

    Each link is recomputed from the hash stored in the row before it, so a changed row
    names itself, and a row deleted, moved or inserted names the first row after it.
    """
    rows = conn.execute(
        f"SELECT {', '.join(chain.LEDGER_FIELDS)}, hash FROM entries ORDER BY device_id, seq"
    )
    device, prev, broken = None, chain.GENESIS, False
    for row in rows:
        entry = dict(zip(chain.LEDGER_FIELDS, row, strict=False))
        if entry["device_id"] != device:
            device, prev, broken = entry["device_id"], chain.GENESIS, False
        if not broken and chain.ledger_hash(prev, entry) != row[-1]:
            broken = True
            yield (
                f"device {device}: entry seq {entry['seq']} ({entry['entry_id']}) does not "
                "follow from the entry before it: changed, or a row before it deleted, moved "
                "or inserted after it was written"
            )
        prev = str(row[-1])


def _audit_breaks(conn: sqlite3.Connection) -> Iterator[str]:
    """The first broken link of the audit log's chain."""
    prev = chain.GENESIS
    for row in conn.execute(f"SELECT {', '.join(chain.AUDIT_FIELDS)}, hash FROM audit ORDER BY id"):
        record = dict(zip(chain.AUDIT_FIELDS, row, strict=False))
        if chain.audit_hash(prev, record) != row[-1]:
            yield (
                f"audit record {record['id']} ({record['action']}) does not follow from the "
                "record before it: changed, or a record before it deleted, moved or inserted "
                "after it was written"
            )
            return
        prev = str(row[-1])
