"""Two enrollments of one phone, made one member: the earlier survives, the later is its alias.

Two branches offline each enroll the shopper who gives the same phone number, with
member ids of their own, and each earns points under its id. When the second id reaches
the hub, the phone already belongs to the first: the second is kept as an alias
(`merged_into` on its row), with none of the personal record's weight (no cards, never in
the feed as a `member`), and nothing of the ledger is moved or rewritten: its entries stay
under its own id, as the kiosks pushed them, and count in the survivor's balance
(records.survivor_of, used where balances are added). The feed says `merge` ({"member_id":
alias, "into": survivor}), then the survivor's `member` record; the push that made the
merge adds the survivor's `balance`.
"""

from __future__ import annotations

from typing import Any

from django.db import connection

from hub.members.models import Card, Member

_MEMBERS = Member._meta.db_table
_CARDS = Card._meta.db_table

FeedChange = tuple[str, dict[str, Any]]


def holder_of_phone(phone: str, member_id: str) -> str | None:
    """The member (not an alias) other than `member_id` who holds `phone`, or None.

    Were there several (a chain's data from before these rules), the earliest received.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT member_id FROM {_MEMBERS} WHERE phone = %s AND status = 'active' "
            "AND merged_into IS NULL AND member_id <> %s ORDER BY received_at, member_id LIMIT 1",
            [phone, member_id],
        )
        row = cursor.fetchone()
    return str(row[0]) if row else None


def free_cards(cards: dict[str, str], owner: str) -> tuple[dict[str, str], list[str]]:
    """The cards (uid -> status) `owner` may have, and who holds each of the others.

    A card is another's when it is active on a member whose survivor is not `owner`; a
    blocked card of the record is kept as blocked (it opens nothing).
    """
    active = sorted(uid for uid, status in cards.items() if status == "active")
    if not active:
        return dict(cards), []
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT DISTINCT c.uid, COALESCE(m.merged_into, m.member_id) FROM {_CARDS} c "
            f"JOIN {_MEMBERS} m ON m.member_id = c.member_id "
            "WHERE c.uid = ANY(%s) AND c.status = 'active' AND m.status = 'active'",
            [active],
        )
        others = {str(uid): str(holder) for uid, holder in cursor.fetchall() if holder != owner}
    kept = {uid: status for uid, status in cards.items() if uid not in others}
    return kept, sorted(set(others.values()))


def merged(alias: str, survivor: str, cards: list[dict[str, Any]]) -> FeedChange:
    """The alias (already written, with `merged_into`) merged: its cards go to the survivor.

    The `merge` change names both ids, so that a branch that knows either hears of it
    (hub/feed's branch filter reads `member_id`; it must also let a `merge` through to the
    branches of `into`). The survivor's `member` record follows it in the feed.
    """
    add_cards(survivor, cards)
    return ("merge", {"member_id": alias, "into": survivor})


def add_cards(survivor: str, cards: list[dict[str, Any]]) -> int:
    """Add cards the survivor does not have yet (already checked free); how many."""
    if not cards:
        return 0
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {_CARDS} (member_id, uid, status) "
            "SELECT %s, uid, status FROM unnest(%s::text[], %s::text[]) AS c(uid, status) "
            "ON CONFLICT (member_id, uid) DO NOTHING",
            [survivor, [str(c["uid"]) for c in cards], [str(c["status"]) for c in cards]],
        )
        return int(cursor.rowcount)
