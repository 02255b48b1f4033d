"""The first schema (migration m001 of kiosk/core/store/schema.py), as one SQL script.

Members, personal data, cards, staff, the ledger with its lots, the outbox and the audit
log as they were at the first release; every later change is a migration of its own in
schema.py. Kept apart from the migrations' code because it is the longest part of them
and is never edited (a released migration is not changed).
"""

INITIAL = """
        CREATE TABLE meta (
            key TEXT PRIMARY KEY,
            value TEXT NOT NULL
        );

        -- The anonymous member: what the ledger points at. Never deleted.
        CREATE TABLE members (
            member_id TEXT PRIMARY KEY,
            created_at TEXT NOT NULL,
            enrolled_on_device TEXT NOT NULL,
            status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'erased')),
            balance INTEGER NOT NULL DEFAULT 0,
            tier TEXT NOT NULL,
            tier_since TEXT,
            tier_until TEXT,
            erased_at TEXT
        );

        -- Personal data, kept apart so that erasure deletes this row and keeps the ledger.
        CREATE TABLE people (
            member_id TEXT PRIMARY KEY REFERENCES members(member_id),
            phone TEXT NOT NULL UNIQUE,
            name TEXT,
            birthday TEXT,
            language TEXT,
            consent_marketing INTEGER NOT NULL DEFAULT 0,
            consent_version TEXT,
            consent_at TEXT
        );

        -- Every consent given or withdrawn, with the version of the text that was shown.
        CREATE TABLE consent_log (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            member_id TEXT NOT NULL REFERENCES members(member_id),
            at TEXT NOT NULL,
            marketing INTEGER NOT NULL,
            version TEXT NOT NULL,
            source TEXT NOT NULL
        );

        CREATE TABLE staff (
            staff_id TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            role TEXT NOT NULL CHECK (role IN ('cashier', 'manager', 'technician')),
            pin_hash TEXT NOT NULL,
            created_at TEXT NOT NULL,
            disabled_at TEXT
        );

        -- Wrong-PIN counters and lockouts, per staff member or '*' for PIN-only logins.
        CREATE TABLE pin_guard (
            subject TEXT PRIMARY KEY,
            failed INTEGER NOT NULL DEFAULT 0,
            lockouts INTEGER NOT NULL DEFAULT 0,
            locked_until TEXT
        );

        -- A card belongs to one member or one staff member.
        CREATE TABLE cards (
            uid TEXT PRIMARY KEY,
            member_id TEXT REFERENCES members(member_id),
            staff_id TEXT REFERENCES staff(staff_id),
            status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'blocked')),
            linked_at TEXT NOT NULL,
            blocked_at TEXT,
            CHECK ((member_id IS NULL) <> (staff_id IS NULL))
        );
        CREATE INDEX cards_by_member ON cards(member_id) WHERE member_id IS NOT NULL;
        CREATE INDEX cards_by_staff ON cards(staff_id) WHERE staff_id IS NOT NULL;

        -- The ledger. Append-only (triggers below); `reverses` is UNIQUE so an entry is
        -- reversed at most once; (device_id, seq) is the gapless per-device sequence.
        CREATE TABLE entries (
            entry_id TEXT PRIMARY KEY,
            device_id TEXT NOT NULL,
            seq INTEGER NOT NULL CHECK (seq > 0),
            kind TEXT NOT NULL
                CHECK (kind IN ('earn', 'redeem', 'bonus', 'adjust', 'expire', 'reversal')),
            member_id TEXT NOT NULL REFERENCES members(member_id),
            points INTEGER NOT NULL,
            amount INTEGER CHECK (amount IS NULL OR amount >= 0),
            currency TEXT,
            cashier_id TEXT,
            created_at TEXT NOT NULL,
            client_txn_id TEXT UNIQUE,
            reverses TEXT UNIQUE REFERENCES entries(entry_id),
            reward_id TEXT,
            coupon_code TEXT,
            reason TEXT,
            expires_at TEXT,
            UNIQUE (device_id, seq)
        );
        CREATE INDEX entries_by_member_time ON entries(member_id, created_at);

        -- What is left of each credit, so that points expire oldest first and a policy
        -- change never touches lots already earned. Derived state, like members.balance.
        CREATE TABLE lots (
            lot_id TEXT PRIMARY KEY REFERENCES entries(entry_id),
            member_id TEXT NOT NULL REFERENCES members(member_id),
            expires_at TEXT,
            remaining INTEGER NOT NULL CHECK (remaining >= 0)
        );
        CREATE INDEX lots_open_by_member ON lots(member_id, expires_at) WHERE remaining > 0;
        CREATE INDEX lots_open_by_expiry ON lots(expires_at) WHERE remaining > 0;

        -- Which entry took (negative) or gave back (positive) how much of which lot.
        CREATE TABLE lot_moves (
            entry_id TEXT NOT NULL REFERENCES entries(entry_id),
            lot_id TEXT NOT NULL REFERENCES lots(lot_id),
            points INTEGER NOT NULL,
            PRIMARY KEY (entry_id, lot_id)
        );
        CREATE INDEX lot_moves_by_lot ON lot_moves(lot_id);

        -- Entries not yet acknowledged by the CRM, written with the entry.
        CREATE TABLE outbox (
            entry_id TEXT PRIMARY KEY REFERENCES entries(entry_id),
            device_id TEXT NOT NULL,
            seq INTEGER NOT NULL,
            state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'rejected')),
            error TEXT
        );
        CREATE INDEX outbox_by_seq ON outbox(device_id, seq);

        -- One row per person's write, so a retried or double-tapped one returns the
        -- first answer instead of writing twice.
        CREATE TABLE client_txns (
            txn_id TEXT PRIMARY KEY,
            operation TEXT NOT NULL,
            fingerprint TEXT NOT NULL,
            result TEXT NOT NULL,
            created_at TEXT NOT NULL
        );

        CREATE TABLE audit (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            at TEXT NOT NULL,
            actor TEXT NOT NULL,
            action TEXT NOT NULL,
            target TEXT,
            outcome TEXT NOT NULL,
            details TEXT
        );
        """
