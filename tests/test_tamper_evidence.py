"""Someone with the database file rewrites history; `ledger verify` and `doctor` see it.

The attacker here knows SQLite: drops the append-only triggers, rewrites rows and keeps
every derived number (balances, lots, daily totals, outbox) consistent, then puts the
triggers back. Before the hash chains every other check of `ledger verify` passed on such
a file; now the first broken link is named.
"""

from __future__ import annotations

import hashlib
import sqlite3
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlite_utils import Database

from kiosk.appliance.doctor import DoctorContext, check_database
from kiosk.cli import main
from kiosk.core.service import LoyaltyService
from kiosk.core.store import audit, chain
from kiosk.core.store.db import connect, write_transaction
from kiosk.core.store.ledger import Ledger
from kiosk.core.store.schema import MIGRATIONS
from kiosk.core.store.staff import CLI, Actor
from kiosk.core.store.verify import AUDIT_CHAIN, LEDGER_CHAIN, verify_ledger
from tests.conftest import make_config

PHONE = "09121234567"
OVERRIDES = ("program.limits.min_minutes_between_earns=0", "program.limits.max_earns_per_day=100")


def sales(service: LoyaltyService, cashier: Actor, count: int = 5) -> str:
    """A member and `count` purchases of 1,000,000 rial; the member's id."""
    member = service.enroll(PHONE, client_txn_id="enroll").member_id
    for n in range(count):
        service.earn(member, 1_000_000, cashier=cashier, client_txn_id=f"sale-{n}")
    return member


def attack(path: Path, *statements: tuple[str, tuple[object, ...]]) -> None:
    """What someone with the file does: triggers off, rows rewritten, triggers back on."""
    conn = sqlite3.connect(path, isolation_level=None)
    triggers = conn.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND name LIKE '%append_only%'"
    ).fetchall()
    conn.execute("BEGIN")
    for name, _ in triggers:
        conn.execute(f"DROP TRIGGER {name}")
    for sql, params in statements:
        conn.execute(sql, params)
    for _, sql in triggers:
        conn.execute(sql)
    conn.execute("COMMIT")
    conn.close()


def entry_at(path: Path, seq: int) -> dict[str, object]:
    conn = sqlite3.connect(path)
    conn.row_factory = sqlite3.Row
    row = conn.execute("SELECT * FROM entries WHERE seq = ?", (seq,)).fetchone()
    conn.close()
    return dict(row)


def changed_points(path: Path) -> int:
    """The third sale is worth 1,000 points more, and every total agrees."""
    e = entry_at(path, 3)
    attack(
        path,
        ("UPDATE entries SET points = points + 1000 WHERE seq = 3", ()),
        ("UPDATE members SET balance = balance + 1000 WHERE member_id = ?", (e["member_id"],)),
        ("UPDATE lots SET remaining = remaining + 1000 WHERE lot_id = ?", (e["entry_id"],)),
        ("UPDATE earned_days SET points = points + 1000 WHERE member_id = ?", (e["member_id"],)),
    )
    return 3


def deleted_row(path: Path) -> int:
    """The third sale is gone and the ones after it renumbered: no gap to see."""
    e = entry_at(path, 3)
    attack(
        path,
        ("DELETE FROM lot_moves WHERE entry_id = ? OR lot_id = ?", (e["entry_id"],) * 2),
        ("DELETE FROM lots WHERE lot_id = ?", (e["entry_id"],)),
        ("DELETE FROM outbox WHERE entry_id = ?", (e["entry_id"],)),
        ("DELETE FROM entries WHERE entry_id = ?", (e["entry_id"],)),
        ("UPDATE entries SET seq = seq + 100000 WHERE seq > 3", ()),
        ("UPDATE entries SET seq = seq - 100001 WHERE seq > 100000", ()),
        ("UPDATE outbox SET seq = seq + 100000 WHERE seq > 3", ()),
        ("UPDATE outbox SET seq = seq - 100001 WHERE seq > 100000", ()),
        (
            "UPDATE members SET balance = balance - ? WHERE member_id = ?",
            (e["points"], e["member_id"]),
        ),
        (
            "UPDATE earned_days SET points = points - ? WHERE member_id = ?",
            (e["points"], e["member_id"]),
        ),
    )
    return 3  # the sale that was the fourth names itself: its link does not follow


def reordered_rows(path: Path) -> int:
    """The second and the fourth sale swap places (and their outbox rows with them)."""
    second, fourth = entry_at(path, 2), entry_at(path, 4)
    attack(
        path,
        ("UPDATE entries SET seq = 100 WHERE entry_id = ?", (second["entry_id"],)),
        ("UPDATE entries SET seq = 2 WHERE entry_id = ?", (fourth["entry_id"],)),
        ("UPDATE entries SET seq = 4 WHERE entry_id = ?", (second["entry_id"],)),
        ("UPDATE outbox SET seq = 100 WHERE entry_id = ?", (second["entry_id"],)),
        ("UPDATE outbox SET seq = 2 WHERE entry_id = ?", (fourth["entry_id"],)),
        ("UPDATE outbox SET seq = 4 WHERE entry_id = ?", (second["entry_id"],)),
    )
    return 2


def inserted_row(path: Path) -> int:
    """An adjustment of 5,000 points slipped in as the third entry, with a hash computed for
    it from the link before: the entries after it were renumbered."""
    before = entry_at(path, 2)
    forged = {name: None for name in chain.LEDGER_FIELDS} | {
        "entry_id": str(uuid.uuid4()),
        "device_id": before["device_id"],
        "seq": 3,
        "kind": "adjust",
        "member_id": before["member_id"],
        "points": 5000,
        "created_at": before["created_at"],
        "reason": "goodwill",
    }
    forged["hash"] = chain.ledger_hash(str(before["hash"]), forged)
    columns = ", ".join(forged)
    attack(
        path,
        ("UPDATE entries SET seq = seq + 100000 WHERE seq >= 3", ()),
        ("UPDATE entries SET seq = seq - 99999 WHERE seq > 100000", ()),
        ("UPDATE outbox SET seq = seq + 100000 WHERE seq >= 3", ()),
        ("UPDATE outbox SET seq = seq - 99999 WHERE seq > 100000", ()),
        (
            f"INSERT INTO entries ({columns}) VALUES ({', '.join('?' for _ in forged)})",
            tuple(forged.values()),
        ),
        (
            "INSERT INTO outbox (device_id, seq, entry_id) VALUES (?, 3, ?)",
            (forged["device_id"], forged["entry_id"]),
        ),
        (
            "INSERT INTO lots (lot_id, member_id, expires_at, remaining) VALUES (?, ?, NULL, 5000)",
            (forged["entry_id"], forged["member_id"]),
        ),
        ("UPDATE members SET balance = balance + 5000 WHERE member_id = ?", (forged["member_id"],)),
    )
    return 4  # the forged link is well made; the real sale after it no longer follows


TAMPERINGS: dict[str, Callable[[Path], int]] = {
    "changed points": changed_points,
    "a deleted row": deleted_row,
    "a reordered row": reordered_rows,
    "a row inserted in the middle": inserted_row,
}


@pytest.fixture
def shop(open_service: Callable[..., LoyaltyService], cashier_of: Callable[..., Actor]) -> Path:
    """A kiosk's database after five sales, closed: the file the attacker takes."""
    service = open_service(*OVERRIDES)
    sales(service, cashier_of(service))
    assert verify_ledger(service.conn).ok
    path = Path(service.conn.execute("PRAGMA database_list").fetchone()[2])
    service.close()
    return path


@pytest.fixture
def cashier_of() -> Callable[[LoyaltyService], Actor]:
    def make(service: LoyaltyService) -> Actor:
        staff = service.staff.add(name="Cashier", role="cashier", pin="2580", actor=CLI)
        return Actor(staff.staff_id, "cashier")

    return make


@pytest.mark.parametrize("tampering", TAMPERINGS, ids=list(TAMPERINGS))
def test_a_rewritten_ledger_is_named_at_its_first_broken_link(shop: Path, tampering: str) -> None:
    seq = TAMPERINGS[tampering](shop)
    conn = sqlite3.connect(shop)

    report = verify_ledger(conn)

    conn.close()
    assert not report.ok
    # Every number still adds up: only the chain shows what was done.
    assert {name for name, found in report.checks.items() if found} == {LEDGER_CHAIN}
    [problem] = report.checks[LEDGER_CHAIN]
    assert f"entry seq {seq} " in problem and "does not follow" in problem


@pytest.mark.parametrize("tampering", TAMPERINGS, ids=list(TAMPERINGS))
def test_kiosk_ledger_verify_exits_non_zero_naming_the_link(
    shop: Path, tampering: str, capsys: pytest.CaptureFixture[str]
) -> None:
    seq = TAMPERINGS[tampering](shop)

    status = main(["ledger", "verify", "--data-dir", str(shop.parent)])

    out = capsys.readouterr().out
    assert status != 0
    assert out.startswith("PROBLEMS")
    assert f"entry seq {seq} " in out and "history not rewritten" in out


@pytest.mark.parametrize("tampering", TAMPERINGS, ids=list(TAMPERINGS))
def test_kiosk_doctor_fails_the_database_check_on_a_rewritten_ledger(
    shop: Path, tampering: str
) -> None:
    seq = TAMPERINGS[tampering](shop)

    result = check_database(DoctorContext(make_config(*OVERRIDES), shop.parent))

    assert result.status == "fail"
    assert f"entry seq {seq} " in result.summary
    assert "kiosk ledger verify" in (result.hint or "")


def test_a_changed_or_deleted_audit_record_is_named(shop: Path) -> None:
    conn = sqlite3.connect(shop)
    first, last = conn.execute("SELECT MIN(id), MAX(id) FROM audit").fetchone()
    conn.close()
    assert last - first >= 2
    attack(shop, ("UPDATE audit SET actor = 'someone-else' WHERE id = ?", (first + 1,)))
    conn = sqlite3.connect(shop)
    [problem] = verify_ledger(conn).checks[AUDIT_CHAIN]
    conn.close()
    assert problem.startswith(f"audit record {first + 1} ")

    attack(shop, ("DELETE FROM audit WHERE id <= ?", (first + 1,)))
    conn = sqlite3.connect(shop)
    [problem] = verify_ledger(conn).checks[AUDIT_CHAIN]
    conn.close()
    assert problem.startswith(f"audit record {first + 2} ")


def test_an_untouched_ledger_of_thousands_of_entries_verifies(tmp_path: Path) -> None:
    conn = connect(tmp_path / "kiosk.db")
    ledger = Ledger(conn, "kiosk-1")
    with write_transaction(conn):
        members = [str(uuid.uuid4()) for _ in range(50)]
        conn.executemany(
            "INSERT INTO members (member_id, created_at, enrolled_on_device, tier) "
            "VALUES (?, '2026-11-01T08:00:00Z', 'kiosk-1', 'bronze')",
            [(m,) for m in members],
        )
        for n in range(5000):
            ledger.append(
                kind="earn",
                member_id=members[n % 50],
                points=10 + n % 7,
                amount=1_000_000,
                currency="IRR",
                cashier_id="s-1",
                created_at=f"2026-11-{1 + n % 28:02d}T09:00:00.000000Z",
            )
            if n % 3 == 0:
                audit.record(
                    conn, at="2026-11-01T09:00:00Z", actor="s-1", action="earn", target=str(n)
                )

    report = verify_ledger(conn)

    assert report.ok, report.problems
    assert report.entries == 5000
    assert chain.ledger_head(conn, "kiosk-1").at == 5000
    conn.close()


def test_rows_written_before_the_upgrade_are_chained_by_it(tmp_path: Path) -> None:
    path = tmp_path / "kiosk.db"
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA foreign_keys=ON")
    MIGRATIONS.apply(Database(conn), stop_before="m009_hash_chains")
    conn.execute(
        "INSERT INTO members (member_id, created_at, enrolled_on_device, tier) "
        "VALUES ('m-1', '2026-11-01T08:00:00Z', 'kiosk-1', 'bronze')"
    )
    for seq in (1, 2, 3):
        conn.execute(
            "INSERT INTO entries (entry_id, device_id, seq, kind, member_id, points, created_at) "
            "VALUES (?, 'kiosk-1', ?, 'bonus', 'm-1', 10, '2026-11-01T09:00:00Z')",
            (f"e-{seq}", seq),
        )
        conn.execute(
            "INSERT INTO audit (at, actor, action, outcome) VALUES ('2026-11-01', 'cli', 'x', 'ok')"
        )
    conn.close()

    conn = connect(path)  # the upgrade
    with write_transaction(conn):
        Ledger(conn, "kiosk-1").append(
            kind="bonus", member_id="m-1", points=5, created_at="2026-11-02T09:00:00Z"
        )

    hashes = [row[0] for row in conn.execute("SELECT hash FROM entries ORDER BY seq")]
    assert all(hashes) and len(set(hashes)) == 4
    assert not verify_ledger(conn).checks[LEDGER_CHAIN]
    assert not verify_ledger(conn).checks[AUDIT_CHAIN]
    conn.close()


def test_the_hashed_bytes_are_those_docs_sync_protocol_md_gives() -> None:
    # Another implementation (the hub's) must be able to recompute a kiosk's chain.
    entry = {name: None for name in chain.LEDGER_FIELDS} | {
        "entry_id": "e-1",
        "device_id": "kiosk-1",
        "seq": 1,
        "kind": "adjust",
        "points": 5,
        "reason": "پاداش",
    }
    body = (
        '{"amount":null,"cashier_id":null,"client_txn_id":null,"coupon_code":null,'
        '"created_at":null,"currency":null,"device_id":"kiosk-1","entry_id":"e-1",'
        '"expires_at":null,"kind":"adjust","member_id":null,"points":5,'
        '"reason":"\\u067e\\u0627\\u062f\\u0627\\u0634","reverses":null,"reward_id":null,"seq":1}'
    )
    expected = b"loyalty-kiosk ledger v1\n" + b"0" * 64 + b"\n" + body.encode()

    assert chain.ledger_hash(chain.GENESIS, entry) == hashlib.sha256(expected).hexdigest()


def recomputed(path: Path) -> None:
    """The third sale worth 1,000 points more, and every hash after it recomputed, as the
    attacker can with the file and this module: the chain itself verifies again."""
    changed_points(path)
    conn = sqlite3.connect(path, isolation_level=None)
    rows = conn.execute(
        f"SELECT {', '.join(chain.LEDGER_FIELDS)} FROM entries ORDER BY seq"
    ).fetchall()
    statements, prev = [], chain.GENESIS
    for row in rows:
        entry = dict(zip(chain.LEDGER_FIELDS, row, strict=True))
        prev = chain.ledger_hash(prev, entry)
        statements.append(("UPDATE entries SET hash = ? WHERE seq = ?", (prev, entry["seq"])))
    conn.close()
    attack(path, *statements)


def test_a_history_recomputed_to_its_end_is_seen_by_the_kiosk_itself(
    shop: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Before the seals only the CRM could tell, after a push; the seal of the last link
    needs the data key (kiosk/core/store/chain.py `seal`), which the file alone lacks."""
    recomputed(shop)
    raw = sqlite3.connect(shop)
    assert verify_ledger(raw).ok  # the chain and every total agree: the rewrite is thorough
    raw.close()

    status = main(["ledger", "verify", "--data-dir", str(shop.parent)])
    out = capsys.readouterr().out
    assert status != 0
    assert "sealed" in out and "recomputed" in out

    result = check_database(DoctorContext(make_config(*OVERRIDES), shop.parent))
    assert result.status == "fail"
    assert "sealed" in result.summary


def test_a_seal_copied_from_another_kiosk_or_made_up_is_refused(shop: Path) -> None:
    recomputed(shop)
    conn = sqlite3.connect(shop, isolation_level=None)
    head = conn.execute("SELECT seq, hash FROM entries ORDER BY seq DESC LIMIT 1").fetchone()
    made_up = hashlib.sha256(b"a guess").hexdigest()
    conn.execute(
        "UPDATE chain_seals SET at = ?, hash = ?, mac = ? WHERE chain LIKE 'ledger:%'",
        (head[0], head[1], made_up),
    )
    conn.close()

    service = connect(shop)
    try:
        report = verify_ledger(service)
    finally:
        service.close()
    assert any("not made by this kiosk" in p for p in report.problems)
