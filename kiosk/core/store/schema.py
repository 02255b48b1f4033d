"""The database schema as an ordered set of migrations (sqlite-utils `Migrations`)."""

from __future__ import annotations

import secrets
import sqlite3

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

from kiosk.core.store.chain import chain_existing, seal_heads
from kiosk.core.store.initial_schema import INITIAL
from kiosk.core.store.txns import ERASED, KEY_NAME, keyed

MIGRATIONS = Migrations("loyalty-kiosk")


def _run_script(db: Database, script: str) -> None:
    """Run SQL statements one by one: `executescript` would COMMIT the migration's transaction."""
    statement = ""
    for line in script.splitlines(keepends=True):
        statement += line
        if sqlite3.complete_statement(statement):
            db.execute(statement)
            statement = ""
    if statement.strip():
        raise ValueError(f"incomplete SQL statement in migration: {statement.strip()[:60]}")


def _append_only(db: Database, table: str) -> None:
    for event in ("UPDATE", "DELETE"):
        db.execute(
            f"CREATE TRIGGER {table}_append_only_{event.lower()} BEFORE {event} ON {table} "
            f"BEGIN SELECT RAISE(ABORT, '{table} is append-only: record a correction instead'); END"
        )


@MIGRATIONS()
def m001_initial(db: Database) -> None:
    """Members, personal data, cards, staff, the ledger with its lots, outbox and audit log."""
    _run_script(
        db,
        INITIAL,
    )
    _append_only(db, "entries")
    _append_only(db, "audit")


@MIGRATIONS()
def m002_earned_days(db: Database) -> None:
    """Points earned per member and UTC day, so the tier window never scans a history."""
    _run_script(
        db,
        """
        CREATE TABLE earned_days (
            member_id TEXT NOT NULL REFERENCES members(member_id),
            day TEXT NOT NULL,
            points INTEGER NOT NULL,
            PRIMARY KEY (member_id, day)
        ) WITHOUT ROWID;

        INSERT INTO earned_days (member_id, day, points)
        SELECT e.member_id, substr(e.created_at, 1, 10), SUM(e.points) FROM entries e
        WHERE e.kind = 'earn'
          AND NOT EXISTS (SELECT 1 FROM entries r WHERE r.reverses = e.entry_id)
        GROUP BY e.member_id, substr(e.created_at, 1, 10);
        """,
    )


@MIGRATIONS()
def m003_settings(db: Database) -> None:
    """Settings changed on the device by a technician (default language...), audited."""
    _run_script(
        db,
        """
        CREATE TABLE settings (
            key TEXT PRIMARY KEY,
            value TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            updated_by TEXT NOT NULL
        ) WITHOUT ROWID;

        -- Never committed: the out-of-service screen writes a row here and rolls it back
        -- to learn whether the disk takes writes again.
        CREATE TABLE write_probe (data BLOB);
        """,
    )


@MIGRATIONS()
def m004_sync(db: Database) -> None:
    """The sync worker's state, and which members changed since the CRM last heard of them."""
    _run_script(
        db,
        """
        CREATE TABLE sync_state (
            key TEXT PRIMARY KEY,
            value TEXT NOT NULL
        ) WITHOUT ROWID;

        -- A member to push: written by triggers in the same transaction as the change, so
        -- no enrollment, card or erasure can be missed. `version` grows with each change;
        -- a row is removed only if it did not change while its push was under way.
        CREATE TABLE member_outbox (
            member_id TEXT PRIMARY KEY REFERENCES members(member_id),
            version INTEGER NOT NULL,
            changed_at TEXT NOT NULL
        ) WITHOUT ROWID;

        CREATE TRIGGER member_outbox_on_member AFTER INSERT ON members BEGIN
            INSERT INTO member_outbox (member_id, version, changed_at)
            VALUES (new.member_id, 1, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
            ON CONFLICT(member_id) DO UPDATE SET version = version + 1,
                changed_at = excluded.changed_at;
        END;

        CREATE TRIGGER member_outbox_on_status AFTER UPDATE OF status ON members BEGIN
            INSERT INTO member_outbox (member_id, version, changed_at)
            VALUES (new.member_id, 1, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
            ON CONFLICT(member_id) DO UPDATE SET version = version + 1,
                changed_at = excluded.changed_at;
        END;

        CREATE TRIGGER member_outbox_on_person AFTER UPDATE ON people BEGIN
            INSERT INTO member_outbox (member_id, version, changed_at)
            VALUES (new.member_id, 1, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
            ON CONFLICT(member_id) DO UPDATE SET version = version + 1,
                changed_at = excluded.changed_at;
        END;

        CREATE TRIGGER member_outbox_on_card AFTER INSERT ON cards
        WHEN new.member_id IS NOT NULL BEGIN
            INSERT INTO member_outbox (member_id, version, changed_at)
            VALUES (new.member_id, 1, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
            ON CONFLICT(member_id) DO UPDATE SET version = version + 1,
                changed_at = excluded.changed_at;
        END;

        CREATE TRIGGER member_outbox_on_card_change AFTER UPDATE ON cards
        WHEN old.member_id IS NOT NULL BEGIN
            INSERT INTO member_outbox (member_id, version, changed_at)
            VALUES (old.member_id, 1, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
            ON CONFLICT(member_id) DO UPDATE SET version = version + 1,
                changed_at = excluded.changed_at;
        END;

        CREATE TRIGGER member_outbox_on_card_unlink AFTER DELETE ON cards
        WHEN old.member_id IS NOT NULL BEGIN
            INSERT INTO member_outbox (member_id, version, changed_at)
            VALUES (old.member_id, 1, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
            ON CONFLICT(member_id) DO UPDATE SET version = version + 1,
                changed_at = excluded.changed_at;
        END;

        -- Members that existed before this migration are pushed once.
        INSERT INTO member_outbox (member_id, version, changed_at)
        SELECT member_id, 1, created_at FROM members;
        """,
    )


@MIGRATIONS()
def m005_remote(db: Database) -> None:
    """What the CRM says: each member's balance there and how much of this kiosk it holds."""
    _run_script(
        db,
        """
        -- The CRM's balance of a member, which counts this device's entries up to
        -- `acknowledged_seq`; a shopper sees it plus this device's entries after that.
        CREATE TABLE remote_balances (
            member_id TEXT PRIMARY KEY REFERENCES members(member_id),
            balance INTEGER NOT NULL,
            acknowledged_seq INTEGER NOT NULL
        ) WITHOUT ROWID;
        CREATE INDEX entries_by_member_seq ON entries(member_id, seq);
        """,
    )


@MIGRATIONS()
def m006_outbox_by_seq(db: Database) -> None:
    """Key the outbox by (device, seq): acknowledging a batch deletes one run of keys.

    With the random entry id as its key, acknowledging 500 entries rewrote about 500
    scattered index pages (2 MB written to the SD card per batch, and a WAL checkpoint
    every other batch); keyed by sequence they are a few adjacent pages.
    """
    _run_script(
        db,
        """
        CREATE TABLE outbox_keyed (
            device_id TEXT NOT NULL,
            seq INTEGER NOT NULL,
            entry_id TEXT NOT NULL REFERENCES entries(entry_id),
            state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'rejected')),
            error TEXT,
            PRIMARY KEY (device_id, seq)
        ) WITHOUT ROWID;
        INSERT INTO outbox_keyed (device_id, seq, entry_id, state, error)
            SELECT device_id, seq, entry_id, state, error FROM outbox;
        DROP TABLE outbox;
        ALTER TABLE outbox_keyed RENAME TO outbox;
        """,
    )


@MIGRATIONS()
def m007_merged_members(db: Database) -> None:
    """Member ids the CRM merged into another (one phone enrolled twice, offline).

    The merged id keeps its ledger entries, as they were written and pushed; it is only
    named here, so that its points count in the survivor's balance.
    """
    _run_script(
        db,
        """
        CREATE TABLE merged_members (
            member_id TEXT PRIMARY KEY,
            into_id TEXT NOT NULL,
            merged_at TEXT NOT NULL
        ) WITHOUT ROWID;
        CREATE INDEX merged_members_by_survivor ON merged_members(into_id);
        """,
    )


@MIGRATIONS()
def m008_keyed_fingerprints(db: Database) -> None:
    """Key the client transaction fingerprints with a random key of this database.

    A fingerprint was the SHA-256 of the request; it becomes the HMAC of that SHA-256
    (kiosk/core/store/txns.py), so every stored one is re-keyed exactly and a repeated
    client transaction id is still answered as before.
    """
    key = secrets.token_bytes(32)
    db.execute("INSERT INTO meta (key, value) VALUES (?, ?)", [KEY_NAME, key.hex()])
    db.conn.create_function("keyed_fingerprint", 1, lambda digest: keyed(key, digest))
    db.execute("UPDATE client_txns SET fingerprint = keyed_fingerprint(fingerprint)")
    # People erased before this: the key is in this file too, so their enrollments'
    # fingerprints go as an erasure now takes them (ClientTxns.forget_member).
    db.execute(
        "UPDATE client_txns SET fingerprint = ? WHERE operation = 'enroll' "
        "AND json_extract(result, '$.member_id') IN "
        "(SELECT member_id FROM members WHERE status = 'erased')",
        [ERASED],
    )


@MIGRATIONS()
def m009_hash_chains(db: Database) -> None:
    """Chain each ledger entry and audit record to the one before it (kiosk/core/store/chain.py).

    Rows already written are chained here, in order: each device's entries by sequence,
    the audit log by id. New rows get their hash in the transaction that writes them.
    """
    db.execute("ALTER TABLE entries ADD COLUMN hash TEXT")
    db.execute("ALTER TABLE audit ADD COLUMN hash TEXT")
    chain_existing(db.conn)


@MIGRATIONS()
def m010_enrolled_member(db: Database) -> None:
    """Name the member an enrollment's client transaction made, by an index.

    An erasure replaces the fingerprint of the person's enrollment (txns.py
    `forget_member`); found by reading every answer's JSON, that was a scan of a row per
    purchase ever made inside the erasure's transaction (and once per erasure of a pulled
    page). Only enrollments name one, so the index holds only them.
    """
    _run_script(
        db,
        """
        ALTER TABLE client_txns ADD COLUMN enrolled TEXT;
        UPDATE client_txns SET enrolled = json_extract(result, '$.member_id')
            WHERE operation = 'enroll';
        CREATE INDEX client_txns_by_enrolled ON client_txns(enrolled) WHERE enrolled IS NOT NULL;
        """,
    )


@MIGRATIONS()
def m011_sealed_personal_data(db: Database) -> None:
    """Seal personal data at rest (kiosk/core/store/vault.py): a stolen SD card shows no
    phone, name, birthday, card id or staff name, nor the fingerprint key.

    `people` keeps a blind index of the phone (`phone_index`, still UNIQUE) and one sealed
    JSON of phone, name and birthday; `cards` a blind index of the card id (`uid_index`,
    still the key) and the sealed id. The triggers that queue a member's push are lifted
    while the rows are rewritten: sealing changes nothing the CRM knows.
    """
    lifted = [
        str(sql)
        for (sql,) in db.execute(
            "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name IN "
            "('member_outbox_on_person', 'member_outbox_on_card_change')"
        ).fetchall()
    ]
    db.execute("DROP TRIGGER member_outbox_on_person")
    db.execute("DROP TRIGGER member_outbox_on_card_change")
    _run_script(
        db,
        """
        ALTER TABLE people ADD COLUMN sealed BLOB;
        UPDATE people SET
            sealed = seal(json_object('phone', phone, 'name', name, 'birthday', birthday),
                          'person:' || member_id),
            phone = blind('phone', phone);
        ALTER TABLE people DROP COLUMN name;
        ALTER TABLE people DROP COLUMN birthday;
        ALTER TABLE people RENAME COLUMN phone TO phone_index;

        ALTER TABLE cards ADD COLUMN sealed BLOB;
        UPDATE cards SET sealed = seal(uid, 'card:' || blind('card', uid)),
            uid = blind('card', uid);
        ALTER TABLE cards RENAME COLUMN uid TO uid_index;

        UPDATE staff SET name = seal(name, 'staff:' || staff_id);
        UPDATE meta SET value = seal(value, 'meta:txn_key') WHERE key = 'txn_key';
        """,
    )
    for sql in lifted:  # as m004 made them
        db.execute(sql)


@MIGRATIONS()
def m012_chain_seals(db: Database) -> None:
    """Seal the head of each hash chain with the data key (kiosk/core/store/chain.py `seal`).

    A thief with the file could rewrite the ledger and recompute every hash to the end;
    the seal of the last link needs the data key, so that rewrite is now seen by the kiosk
    itself (`kiosk ledger verify`, the doctor), not only by the CRM after a push.
    """
    db.execute(
        "CREATE TABLE chain_seals (chain TEXT PRIMARY KEY, at INTEGER NOT NULL, "
        "hash TEXT NOT NULL, mac TEXT NOT NULL) WITHOUT ROWID"
    )
    seal_heads(db.conn)


@MIGRATIONS()
def m013_visit_feedback(db: Database) -> None:
    """The shopper's rating of a visit (kiosk/core/feedback.py): one row per earn entry asked.

    The ask is written when the faces are shown (at most one per member every few days),
    the rating and reasons when tapped; `version` moves on at each change and the sync
    pushes a row while `pushed_version` is behind it. Not the ledger: no points change.
    """
    _run_script(
        db,
        """
        CREATE TABLE feedback (
            entry_id TEXT PRIMARY KEY REFERENCES entries(entry_id),
            member_id TEXT NOT NULL REFERENCES members(member_id),
            asked_at TEXT NOT NULL,
            rating INTEGER CHECK (rating IS NULL OR rating BETWEEN 1 AND 5),
            rated_at TEXT,
            reasons TEXT NOT NULL DEFAULT '',
            version INTEGER NOT NULL DEFAULT 0,
            pushed_version INTEGER NOT NULL DEFAULT 0,
            refused TEXT
        ) WITHOUT ROWID;
        CREATE INDEX feedback_by_member ON feedback(member_id, asked_at);
        CREATE INDEX feedback_to_push ON feedback(entry_id) WHERE version > pushed_version;
        """,
    )


@MIGRATIONS()
def m014_referrals(db: Database) -> None:
    """A new member's referrer (kiosk/core/referral.py): one row per member who named one.

    `state` is pending until the first purchase large enough, then paid (with the purchase
    and the two bonus entries), refused (a self-referral), capped (the referrer's month was
    full) or voided (the purchase was voided and both bonuses taken back). Not the ledger:
    the points are its `bonus` entries.
    """
    _run_script(
        db,
        """
        CREATE TABLE referrals (
            member_id TEXT PRIMARY KEY REFERENCES members(member_id),
            referrer_id TEXT NOT NULL REFERENCES members(member_id),
            created_at TEXT NOT NULL,
            state TEXT NOT NULL DEFAULT 'pending'
                CHECK (state IN ('pending', 'paid', 'refused', 'capped', 'voided')),
            purchase_id TEXT REFERENCES entries(entry_id),
            paid_at TEXT,
            referee_entry TEXT REFERENCES entries(entry_id),
            referrer_entry TEXT REFERENCES entries(entry_id)
        ) WITHOUT ROWID;
        CREATE INDEX referrals_paid ON referrals(referrer_id, paid_at) WHERE state = 'paid';
        CREATE INDEX referrals_by_purchase ON referrals(purchase_id);
        """,
    )


@MIGRATIONS()
def m015_sealed_pin_hashes(db: Database) -> None:
    """Seal each staff PIN's scrypt hash with the data key (kiosk/core/store/staff.py).

    A PIN is 4 to 8 digits: with the file alone, trying them all against its hash takes a
    thief hours at most, whatever the hash's cost. Sealed, the hash is nothing without the
    data key, which is not on the card (kiosk/core/store/vault.py).
    """
    db.execute("UPDATE staff SET pin_hash = seal(pin_hash, 'pin:' || staff_id)")


@MIGRATIONS()
def m016_hub_visits(db: Database) -> None:
    """The hub's summary of a member's visits at every branch (kiosk/core/badges.py): the
    days of their purchases and redemptions, whether they redeemed, the badges they hold.
    Pulled with their balance; a streak or milestone counts it with this kiosk's ledger.
    Not the ledger: no points."""
    _run_script(
        db,
        """
        CREATE TABLE hub_visits (
            member_id TEXT PRIMARY KEY REFERENCES members(member_id),
            days TEXT NOT NULL DEFAULT '',
            redeemed INTEGER NOT NULL DEFAULT 0 CHECK (redeemed IN (0, 1)),
            badges TEXT NOT NULL DEFAULT ''
        ) WITHOUT ROWID;
        """,
    )


@MIGRATIONS()
def m017_staff_signed_at(db: Database) -> None:
    """When the owner signed the staff change each pulled account was last written by.

    A staff change carried no version: an old genuinely signed one ("active, PIN H"),
    replayed by a compromised CRM or read again from a restored hub's feed, undid a
    disable or a new PIN. Null for local accounts and for those pulled before (a hub not
    upgraded yet): an upgraded kiosk keeps its staff, and the next signed change sets it
    (kiosk/core/signed.py `staff_signed_at`).
    """
    db.execute("ALTER TABLE staff ADD COLUMN signed_at TEXT")
