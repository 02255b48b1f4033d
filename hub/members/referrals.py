"""A new member's referral, as it comes with their record (docs/sync-protocol.md, "Push").

The kiosk that enrolled a member who named a referrer pushes the referrer's id with the
member's record (`referrer_id`, every time it pushes that record). The hub keeps the first
it receives for a person (the member and ids merged with them) and checks it once, when it
comes: the referrer is a member the hub holds (active, pushed in this batch or before), not
the same person (nor an id merged with them), and a program in force has referrals on.
Otherwise it is kept as refused, with why, and the owner is told (flag
`referral_refused`); no bonus of it is ever stored (hub/ledger/referrals.py pays the
referrals, once).
"""

from __future__ import annotations

from typing import Any

from django.db import connection

from hub.devices.models import Device
from hub.flags.flags import Raised
from hub.formats import to_timestamp
from hub.members import records
from hub.members.models import Member, Referral
from hub.program.referral import rules_in_force

_REFERRALS = Referral._meta.db_table
_MEMBERS = Member._meta.db_table


def take(device: Device, pushed: list[dict[str, Any]]) -> list[Raised]:
    """Keep the referrals of these (accepted) records that the hub does not hold yet; the
    flags of those refused. Called after every record of the push is written, so that a
    referrer enrolled in the same batch is known."""
    given = {
        str(r["member_id"]): r["referrer_id"]
        for r in pushed
        if r.get("status") == "active" and isinstance(r.get("referrer_id"), str)
    }
    if not given:
        return []
    survivor = records.survivor_of([*given, *given.values()])
    held = _held(sorted(records.family(survivor[m] for m in given)))
    active = _active(sorted(set(given.values())))
    enabled = any(rule["enabled"] for rule in rules_in_force())
    raised: list[Raised] = []
    for member_id, referrer_id in sorted(given.items()):
        if member_id in held:
            if held[member_id] != referrer_id:  # a kiosk never changes a referral
                raised.append(
                    Raised("referral_refused", member_id, detail={"reason": "referral_changed"})
                )
            continue
        family = records.family([survivor[member_id]])
        why = _refused(member_id, referrer_id, survivor, active, enabled)
        if why is None and any(m in held for m in family):
            why = "already_referred"  # an id of the same person named a referrer first
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {_REFERRALS} (member_id, referrer_id, pushed_by_id, received_at, "
                "state, refused) VALUES (%s, %s, %s, now(), %s, %s) "
                "ON CONFLICT (member_id) DO NOTHING",
                [member_id, referrer_id, device.pk, "refused" if why else "pending", why],
            )
        held[member_id] = referrer_id
        if why is not None:
            raised.append(Raised("referral_refused", member_id, detail={"reason": why}))
    return raised


def _refused(
    member_id: str, referrer_id: str, survivor: dict[str, str], active: set[str], enabled: bool
) -> str | None:
    if referrer_id not in active:
        return "unknown_referrer"
    if survivor[member_id] == survivor[referrer_id]:
        return "self_referral"
    if not enabled:
        return "referrals_off"
    return None


def _held(member_ids: list[str]) -> dict[str, str]:
    """The referrals held of these ids: new member -> referrer."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT member_id, referrer_id FROM {_REFERRALS} WHERE member_id = ANY(%s)",
            [member_ids],
        )
        return {str(r[0]): str(r[1]) for r in cursor.fetchall()}


def _active(member_ids: list[str]) -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT member_id FROM {_MEMBERS} WHERE member_id = ANY(%s) AND status = 'active'",
            [member_ids],
        )
        return {str(r[0]) for r in cursor.fetchall()}


# -- what kiosks are told (docs/sync-protocol.md, a balance change's `referral`) ----------


def with_states(changes: list[tuple[str, dict[str, Any]]]) -> None:
    """Add to each `balance` change of a member whose own referral (any id of theirs) is
    no longer pending at the hub its `referral`: {"state", "paid_at" when paid}. The
    kiosk that enrolled them then pays nothing more at a later purchase (kiosk/core/
    referral.py `settled_at_hub`); the hub alone knows a payment made at another branch
    or by itself. A referral refused because another id of the person named a referrer
    first is not the person's: not told (that kiosk's may pay, and is refused, as before).
    One query for all the members."""
    members = sorted({str(data["member_id"]) for kind, data in changes if kind == "balance"})
    if not members:
        return
    family = records.family(members)  # alias -> survivor, survivors included
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT member_id, state, paid_at FROM {_REFERRALS} "
            "WHERE member_id = ANY(%s) AND state <> 'pending' "
            "AND refused IS DISTINCT FROM 'already_referred'",  # the person's is another
            [sorted(family)],
        )
        found: dict[str, dict[str, Any]] = {}
        for member_id, state, paid_at in cursor.fetchall():
            told: dict[str, Any] = {"state": str(state)}
            if state == "paid" and paid_at is not None:
                told["paid_at"] = to_timestamp(paid_at)
            found[family.get(str(member_id), str(member_id))] = told
    for kind, data in changes:
        if kind == "balance" and str(data["member_id"]) in found:
            data["referral"] = found[str(data["member_id"])]
