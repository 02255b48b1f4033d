"""Members and their personal data and cards: storage and lookups, no points rules."""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any


@dataclass(frozen=True)
class Person:
    """The personal data of a member (gone after erasure)."""

    phone: str
    name: str | None
    birthday: date | None
    language: str | None
    consent_marketing: bool
    consent_version: str | None
    consent_at: str | None


@dataclass(frozen=True)
class Member:
    """A member as the ledger knows them, with their personal data if not erased."""

    member_id: str
    created_at: str
    status: str
    balance: int
    tier: str
    tier_since: str | None
    tier_until: str | None
    person: Person | None


@dataclass(frozen=True)
class Card:
    """A card id and whom it belongs to."""

    uid: str
    member_id: str | None
    staff_id: str | None
    status: str


# Phone, name and birthday are one sealed JSON (kiosk/core/store/vault.py); a phone and a
# card id are found by their blind index, a card's id read from its sealed copy.
PERSON = "unseal(p.sealed, 'person:' || p.member_id)"
CARD_UID = "unseal(c.sealed, 'card:' || c.uid_index)"
_MEMBER_COLUMNS = (
    "m.member_id, m.created_at, m.status, m.balance, m.tier, m.tier_since, m.tier_until, "
    f"{PERSON}, p.language, p.consent_marketing, p.consent_version, p.consent_at"
)
_FROM_MEMBERS = "FROM members m LEFT JOIN people p ON p.member_id = m.member_id"
# Whether the member has a lot past its expiry with points left (the first parameter: now).
_DUE = (
    "EXISTS (SELECT 1 FROM lots l WHERE l.member_id = m.member_id AND l.remaining > 0 "
    "AND l.expires_at <= ?)"
)
_DUE_AT = 12  # the column of _DUE after _MEMBER_COLUMNS


def person_json(phone: str, name: str | None, birthday: str | None) -> str:
    """The plaintext of a person's sealed column."""
    return json.dumps({"phone": phone, "name": name, "birthday": birthday}, ensure_ascii=False)


def person_fields(sealed: str | None) -> tuple[str | None, str | None, str | None]:
    """Phone, name and birthday from a person's opened sealed column (Nones when absent)."""
    if sealed is None:
        return None, None, None
    data = json.loads(sealed)
    return data["phone"], data.get("name"), data.get("birthday")


def _member(row: sqlite3.Row, at: int) -> Member:
    (member_id, created_at, status, balance, tier, tier_since, tier_until) = row[at : at + 7]
    sealed, language, consent, version, consent_at = row[at + 7 : at + 12]
    phone, name, birthday = person_fields(sealed)
    person = None
    if phone is not None:
        person = Person(
            phone=phone,
            name=name,
            birthday=date.fromisoformat(birthday) if birthday else None,
            language=language,
            consent_marketing=bool(consent),
            consent_version=version,
            consent_at=consent_at,
        )
    return Member(
        member_id=member_id,
        created_at=created_at,
        status=status,
        balance=balance,
        tier=tier,
        tier_since=tier_since,
        tier_until=tier_until,
        person=person,
    )


_EXPORT_SQL = f"""
    SELECT m.member_id, {PERSON},
           (SELECT group_concat({CARD_UID}, ' ') FROM cards c
            WHERE c.member_id = m.member_id) AS cards,
           m.balance, m.tier, p.consent_marketing, p.consent_version, p.consent_at,
           m.created_at, m.status
    FROM members m LEFT JOIN people p ON p.member_id = m.member_id
"""


class MemberStore:
    """Reads and writes the members, people, cards and consent tables."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def get(self, member_id: str) -> Member | None:
        """The member with this id (erased members too), or None."""
        row = self.conn.execute(
            f"SELECT {_MEMBER_COLUMNS}, 0 {_FROM_MEMBERS} WHERE m.member_id = ?", (member_id,)
        ).fetchone()
        return _member(row, 0) if row else None

    def get_with_due(self, member_id: str, now: str) -> tuple[Member, bool] | None:
        """The member and whether lots of theirs are due to expire at `now` (one query)."""
        row = self.conn.execute(
            f"SELECT {_MEMBER_COLUMNS}, {_DUE} {_FROM_MEMBERS} WHERE m.member_id = ?",
            (now, member_id),
        ).fetchone()
        return (_member(row, 0), bool(row[_DUE_AT])) if row else None

    def count(self) -> int:
        """How many members this kiosk knows (erased ones too)."""
        return int(self.conn.execute("SELECT COUNT(*) FROM members").fetchone()[0])

    def export_rows(self, member_id: str | None = None) -> Iterator[tuple[object, ...]]:
        """Every member (or one) with their personal data, cards, balance and consent.

        The columns are member_io.EXPORT_COLUMNS; rows are streamed, oldest member first.
        """
        if member_id is None:
            cursor = self.conn.execute(_EXPORT_SQL + " ORDER BY m.created_at, m.member_id")
        else:
            cursor = self.conn.execute(_EXPORT_SQL + " WHERE m.member_id = ?", (member_id,))
        for row in cursor:
            yield (row[0], *person_fields(row[1]), *tuple(row)[2:])

    def id_by_phone(self, phone: str) -> str | None:
        """The id of the member with this (normalised) phone number, or None."""
        row = self.conn.execute(
            "SELECT member_id FROM people WHERE phone_index = blind('phone', ?)", (phone,)
        ).fetchone()
        return str(row[0]) if row else None

    def by_phone(self, phone: str, now: str) -> tuple[Member, bool] | None:
        """The member with this (normalised) phone, and whether lots of theirs are due at `now`.

        One indexed query: this runs at every identification, while the shopper waits.
        """
        row = self.conn.execute(
            f"SELECT {_MEMBER_COLUMNS}, {_DUE} FROM people p "
            "JOIN members m ON m.member_id = p.member_id WHERE p.phone_index = blind('phone', ?)",
            (now, phone),
        ).fetchone()
        return (_member(row, 0), bool(row[_DUE_AT])) if row else None

    def by_card(self, uid: str, now: str) -> tuple[Card, Member | None, bool] | None:
        """The card, its member (None for a staff card) and whether lots are due, or None."""
        row = self.conn.execute(
            # The card's id is the one asked for (its blind index matched): not unsealed.
            f"SELECT {_MEMBER_COLUMNS}, {_DUE}, NULL, c.member_id, c.staff_id, c.status "
            "FROM cards c LEFT JOIN members m ON m.member_id = c.member_id "
            "LEFT JOIN people p ON p.member_id = m.member_id "
            "WHERE c.uid_index = blind('card', ?)",
            (now, uid),
        ).fetchone()
        if row is None:
            return None
        base = _DUE_AT + 1
        card = Card(uid, row[base + 1], row[base + 2], row[base + 3])
        member = _member(row, 0) if row[0] is not None else None
        return card, member, bool(row[_DUE_AT])

    def card(self, uid: str) -> Card | None:
        """The card with this (normalised) id, or None."""
        row = self.conn.execute(
            f"SELECT {CARD_UID}, member_id, staff_id, status FROM cards c "
            "WHERE uid_index = blind('card', ?)",
            (uid,),
        ).fetchone()
        return Card(row[0], row[1], row[2], row[3]) if row else None

    def cards_of(self, member_id: str) -> list[Card]:
        """The member's cards, active and blocked."""
        rows = self.conn.execute(
            f"SELECT {CARD_UID}, member_id, staff_id, status FROM cards c WHERE member_id = ? "
            "ORDER BY linked_at",
            (member_id,),
        ).fetchall()
        return [Card(r[0], r[1], r[2], r[3]) for r in rows]

    def create(
        self,
        *,
        phone: str,
        name: str | None,
        birthday: date | None,
        language: str | None,
        tier: str,
        device_id: str,
        now: str,
        member_id: str | None = None,
    ) -> str:
        """Insert a member and their personal data; returns the new member id."""
        member_id = member_id or str(uuid.uuid4())
        self.conn.execute(
            "INSERT INTO members (member_id, created_at, enrolled_on_device, tier) "
            "VALUES (?, ?, ?, ?)",
            (member_id, now, device_id, tier),
        )
        self.conn.execute(
            "INSERT INTO people (member_id, phone_index, sealed, language) "
            "VALUES (?, blind('phone', ?), seal(?, 'person:' || ?), ?)",
            (
                member_id,
                phone,
                person_json(phone, name, birthday.isoformat() if birthday else None),
                member_id,
                language,
            ),
        )
        return member_id

    def create_pulled(self, member_id: str, *, created_at: str, tier: str) -> None:
        """Insert a member enrolled at another kiosk (their record comes from the CRM)."""
        self.conn.execute(
            "INSERT INTO members (member_id, created_at, enrolled_on_device, tier) "
            "VALUES (?, ?, 'crm', ?)",
            (member_id, created_at, tier),
        )

    def put_person(self, member_id: str, person: Mapping[str, Any]) -> None:
        """Insert or replace the member's personal data as the CRM sent it."""
        self.conn.execute(
            "INSERT INTO people (member_id, phone_index, sealed, language, consent_marketing, "
            "consent_version, consent_at) "
            "VALUES (?1, blind('phone', ?2), seal(?3, 'person:' || ?1), ?4, ?5, ?6, ?7) "
            "ON CONFLICT(member_id) DO UPDATE SET phone_index = excluded.phone_index, "
            "sealed = excluded.sealed, "
            "language = excluded.language, consent_marketing = excluded.consent_marketing, "
            "consent_version = excluded.consent_version, consent_at = excluded.consent_at "
            # The same record again (a page applied twice) writes nothing: each sealing is
            # new bytes, so the plaintext is what is compared.
            "WHERE unseal(people.sealed, 'person:' || people.member_id) IS NOT ?3 "
            "OR people.language IS NOT excluded.language "
            "OR people.consent_marketing IS NOT excluded.consent_marketing "
            "OR people.consent_version IS NOT excluded.consent_version "
            "OR people.consent_at IS NOT excluded.consent_at",
            (
                member_id,
                str(person["phone"]),
                person_json(str(person["phone"]), person.get("name"), person.get("birthday")),
                person.get("language"),
                1 if person.get("consent_marketing") else 0,
                person.get("consent_version"),
                person.get("consent_at"),
            ),
        )

    def set_consent(
        self, member_id: str, *, marketing: bool, version: str, now: str, source: str
    ) -> None:
        """Record consent given or withdrawn, with the version of the text shown."""
        self.conn.execute(
            "UPDATE people SET consent_marketing = ?, consent_version = ?, consent_at = ? "
            "WHERE member_id = ?",
            (int(marketing), version, now, member_id),
        )
        self.conn.execute(
            "INSERT INTO consent_log (member_id, at, marketing, version, source) "
            "VALUES (?, ?, ?, ?, ?)",
            (member_id, now, int(marketing), version, source),
        )

    def link_card(
        self,
        uid: str,
        *,
        member_id: str | None = None,
        staff_id: str | None = None,
        now: str,
        status: str = "active",
    ) -> None:
        """Link a card to a member or a staff member."""
        self.conn.execute(
            "INSERT INTO cards (uid_index, sealed, member_id, staff_id, linked_at, status) "
            "VALUES (blind('card', ?), seal(?, 'card:' || blind('card', ?)), ?, ?, ?, ?)",
            (uid, uid, uid, member_id, staff_id, now, status),
        )

    def set_card_status(self, uid: str, status: str) -> None:
        """Set a card's status as the CRM sent it (active or blocked)."""
        self.conn.execute(
            "UPDATE cards SET status = ? WHERE uid_index = blind('card', ?)", (status, uid)
        )

    def unlink_card(self, uid: str) -> None:
        """Forget a card (it may then be linked again)."""
        self.conn.execute("DELETE FROM cards WHERE uid_index = blind('card', ?)", (uid,))

    def block_card(self, uid: str, now: str) -> None:
        """Mark a lost card blocked; it stays linked so a tap says it is blocked."""
        self.conn.execute(
            "UPDATE cards SET status = 'blocked', blocked_at = ? "
            "WHERE uid_index = blind('card', ?)",
            (now, uid),
        )

    def set_tier(self, member_id: str, tier: str, since: str | None, until: str | None) -> None:
        """Store the member's tier and how long it is held."""
        self.conn.execute(
            "UPDATE members SET tier = ?, tier_since = ?, tier_until = ? WHERE member_id = ?",
            (tier, since, until, member_id),
        )

    def erase(self, member_id: str, now: str) -> None:
        """Delete the person's data and cards; the anonymous member and ledger stay.

        The hub's summary of their visits elsewhere (`hub_visits`) goes too: an erased
        member earns nothing more, and it is a profile of where they shopped."""
        self.conn.execute("DELETE FROM cards WHERE member_id = ?", (member_id,))
        self.conn.execute("DELETE FROM hub_visits WHERE member_id = ?", (member_id,))
        self.conn.execute("DELETE FROM people WHERE member_id = ?", (member_id,))
        self.conn.execute(
            "UPDATE members SET status = 'erased', erased_at = ? WHERE member_id = ?",
            (now, member_id),
        )
