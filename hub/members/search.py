"""Finding members for the panel: one box, a phone in any form, a card, a name or an id.

What is typed is read every way it may be meant, each an indexed query, and the answers
joined: a phone (hub/members/phones.py, `phone = ANY` on hub_member's phone index), a card
uid (hub_card's uid index), part of a name (`ILIKE` on the trigram index, three letters at
least: pg_trgm cannot narrow a shorter pattern), a member id (the primary key). Only
members of the viewer's branches are found (hub_branch_member's (branch, member) index, a
probe per candidate), and aliases of a merged enrollment are shown as their survivor.

Nothing personal leaves this module unmasked unless the viewer may see it: a support
user's answers carry masked phones and names, whatever they typed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Protocol

from django.db import connection

from hub.ledger.models import Balance
from hub.members.models import BranchMember, Card, Member
from hub.members.phones import mask_phone
from hub.members.typed import Query, read_query

MOST_FOUND = 50
_MEMBERS = Member._meta.db_table
_CARDS = Card._meta.db_table
_BALANCES = Balance._meta.db_table
_BRANCH_MEMBERS = BranchMember._meta.db_table


class Viewer(Protocol):
    """Who is asking, as far as members go (hub/panel/access.py's Access is one)."""

    @property
    def branch_ids(self) -> frozenset[int] | None:
        """The branches whose members they may see; None: every branch."""

    @property
    def sees_personal(self) -> bool:
        """Whether phones and names may be shown to them (unmasked on request)."""


@dataclass(frozen=True)
class Scope:
    """A Viewer of its own: the command line (the owner at the server) and tests."""

    branch_ids: frozenset[int] | None = None
    sees_personal: bool = True


OWNER = Scope()


@dataclass(frozen=True)
class Found:
    """One member found: masked phone and name (the page shows them on request)."""

    member_id: str
    status: str
    phone: str  # masked
    name: str  # masked
    balance: int
    matched: str  # phone, card, name or id

    def as_json(self) -> dict[str, Any]:
        """As `hub member find --json` prints it."""
        return {
            "member_id": self.member_id,
            "status": self.status,
            "phone": self.phone,
            "name": self.name,
            "balance": self.balance,
            "matched": self.matched,
        }


def find(text: str, viewer: Viewer, limit: int = MOST_FOUND) -> list[Found]:
    """The members `viewer` may see that `text` names, phone and card matches first."""
    query = read_query(text)
    found: dict[str, Found] = {}
    for matched, sql, params in _queries(query):
        for row in _run(sql, params, viewer, limit):
            if row[0] not in found:
                found[row[0]] = _found(row, matched)
        if len(found) >= limit:
            break
    return list(found.values())[:limit]


def _queries(query: Query) -> list[tuple[str, str, list[Any]]]:
    """(matched, a condition on hub_member `a`, its parameters) for each reading."""
    run: list[tuple[str, str, list[Any]]] = []
    if query.member_id:
        run.append(("id", "a.member_id = %s", [query.member_id]))
    if query.phones:
        run.append(("phone", "a.phone = ANY(%s) AND a.status = 'active'", [query.phones]))
    if query.card:
        run.append(
            (
                "card",
                f"a.member_id IN (SELECT member_id FROM {_CARDS} WHERE uid = %s)",
                [query.card],
            )
        )
    if query.name:
        pattern = "%" + re.sub(r"([\\%_])", r"\\\1", query.name) + "%"
        run.append(("name", "a.name ILIKE %s AND a.status = 'active'", [pattern]))
    return run


def _run(condition: str, params: list[Any], viewer: Viewer, limit: int) -> list[tuple[Any, ...]]:
    """The survivors of the members matching `condition` that the viewer may see, with what
    is shown.

    The limit is inside, with the scope: a common name stops at the first `limit` members
    the trigram index gives (the whole bitmap otherwise: half a second at 10,000 matches
    among a million). A merged id's branches are its survivor's too
    (hub/members/branches.py), so the scope is checked on the id found.
    """
    scoped = ""
    scope: list[Any] = []
    if viewer.branch_ids is not None:
        scoped = (
            f"AND EXISTS (SELECT 1 FROM {_BRANCH_MEMBERS} b WHERE b.member_id = a.member_id "
            "AND b.branch_id = ANY(%s))"
        )
        scope = [sorted(viewer.branch_ids)]
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT m.member_id, m.status, m.phone, m.name, COALESCE(bal.balance, 0)
            FROM (SELECT DISTINCT id FROM (
                    SELECT COALESCE(a.merged_into, a.member_id) AS id FROM {_MEMBERS} a
                    WHERE {condition} {scoped} LIMIT %s) AS found) AS hit
            JOIN {_MEMBERS} m ON m.member_id = hit.id
            LEFT JOIN {_BALANCES} bal ON bal.member_id = m.member_id
            ORDER BY m.member_id
            """,
            [*params, *scope, limit],
        )
        return list(cursor.fetchall())


def _found(row: tuple[Any, ...], matched: str) -> Found:
    member_id, status, phone, name, balance = row
    return Found(
        member_id=str(member_id),
        status=str(status),
        phone=mask_phone(phone),
        name=mask_name(name),
        balance=int(balance),
        matched=matched,
    )


def mask_name(name: str | None) -> str:
    """The first letter of each word and a mark for the rest: "Sara Ahmadi" -> "S… A…"."""
    if not name:
        return ""
    return " ".join(word[0] + "…" for word in name.split())
