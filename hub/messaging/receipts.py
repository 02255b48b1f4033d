"""Receipts after an earn or a redemption, queued in the push's own transaction.

`after_push()` is called by hub/ledger/push.py once a push has stored its entries and
updated the balances, in the same transaction: a receipt exists only if its entry does.
Each is keyed by its entry (`receipt:<device>:<entry id>`): a push repeated stores no
entry again and so queues nothing, and a key seen before adds nothing either.

- The phone, name and language are the member's as the hub holds them (the survivor's,
  for an id merged into another member), never anything an entry carries; an erased
  member, or one with no phone, gets none.
- The balance is the hub's after the entry (the balance after the push, less the points
  of the same member's later entries in the batch).
- A receipt waits `DELAY` before it may go: a void (a reversal of the entry) pushed in that
  time cancels it, and one in the same batch means none is queued.
- An entry that reaches the hub more than `FRESH` after it was made (a kiosk offline for
  hours) gets none: a receipt for yesterday's purchase would only puzzle.
- At most `HOURLY_CAP` receipts to a member an hour (a kiosk gone wrong cannot flood them).
- Transactional: sent in quiet hours (the member has just bought something), outside
  the marketing cap, counted in the day's spend.
- The chain's policy `receipts` says opt_out (sent unless the member said no), opt_in
  (only to members who said yes) or off; the member's own choice is `ReceiptChoice`.

It also keeps each member's last visit (`LastVisit`), for the win-back planner.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from django.db import connection
from django.utils import timezone

from hub.devices.models import Device
from hub.formats import parse_timestamp
from hub.members import records
from hub.members.models import Member
from hub.messaging import limits, outbox, parts, texts
from hub.messaging.models import LastVisit, Message, ReceiptChoice
from hub.program.publish import current
from hub.program.wording import grouped

KINDS = {"earn": "receipt", "redeem": "redeem"}  # the entry's kind -> the message's
DELAY = timedelta(minutes=2)  # a void within this cancels the receipt
FRESH = timedelta(hours=6)  # an entry older than this when pushed gets no receipt
LIFETIME = timedelta(hours=6)  # a receipt not sent by then (the gateway down) is dropped
# At most this many receipts to a member an hour: a kiosk gone wrong (or tampered with)
# pushing hundreds of small purchases must not flood a phone; the entries still count.
HOURLY_CAP = 10
_VISITS = LastVisit._meta.db_table
_MESSAGES = Message._meta.db_table


def key(device_id: object, entry_id: object) -> str:
    """The idempotency key of the receipt of an entry."""
    return f"receipt:{device_id}:{entry_id}"


def after_push(
    device: Device, stored: Sequence[dict[str, Any]], now: datetime | None = None
) -> int:
    """Queue the receipts of the entries a push stored (call it in the push's transaction,
    after the balances); how many were queued."""
    if not stored:
        return 0
    moment = now or timezone.now()
    survivor = records.survivor_of(str(e["member_id"]) for e in stored)
    _keep_visits(stored, survivor)
    reversed_here = _cancel_voided(device, stored, moment)
    rules = limits.policy()
    if rules.receipts == "off":
        return 0
    wanted = [
        e
        for e in stored
        if e["kind"] in KINDS
        and e["entry_id"] not in reversed_here
        and (made := parse_timestamp(e["created_at"])) is not None
        and made >= moment - FRESH
    ]
    if not wanted:
        return 0
    members = {
        m.member_id: m
        for m in Member.objects.filter(
            member_id__in={survivor[str(e["member_id"])] for e in wanted},
            status="active",
            phone__isnull=False,
        )
    }
    choices = dict(
        ReceiptChoice.objects.filter(member_id__in=members).values_list("member_id", "wanted")
    )
    after = _balances_after(stored, survivor)
    sent_lately = _receipts_since(list(members), moment - timedelta(hours=1))
    program = current()
    rewards = {str(r.get("id")): r for r in (program.data.get("rewards", []) if program else [])}
    shop = rules.shop_name or device.branch.name
    due = moment + DELAY
    wordings: dict[tuple[str, str], str] = {}
    rows: list[tuple[str, str, str, str, str, str, int, int]] = []
    for entry in wanted:
        member = members.get(survivor[str(entry["member_id"])])
        if member is None or not member.phone:
            continue
        choice = choices.get(member.member_id)
        if choice is False or (rules.receipts == "opt_in" and choice is not True):
            continue
        if sent_lately.get(member.member_id, 0) >= HOURLY_CAP:
            continue
        sent_lately[member.member_id] = sent_lately.get(member.member_id, 0) + 1
        language = member.language if member.language in outbox.LANGUAGES else "fa"
        kind = KINDS[str(entry["kind"])]
        reward = rewards.get(str(entry.get("reward_id")), {})
        values = {
            "shop": shop,
            "name": member.name or "",
            "points": grouped(abs(int(entry["points"])), language),
            "balance": grouped(after[str(entry["entry_id"])], language),
            "reward": reward.get(f"name_{language}") or entry.get("reward_id") or "",
        }
        if (kind, language) not in wordings:  # read once a push, not once an entry
            wordings[(kind, language)] = texts.wording(kind, language)
        body = texts.render(wordings[(kind, language)], values)
        size = parts.measure(body)
        cost = parts.cost(size, price_ucs2=rules.price_ucs2, price_gsm=rules.price_gsm)
        rows.append(
            (
                key(device.device_id, entry["entry_id"]),
                kind,
                member.phone,
                member.member_id,
                language,
                body,
                size.parts,
                cost,
            )
        )
    _insert(rows, due, moment)
    return len(rows)


def _insert(
    rows: list[tuple[str, str, str, str, str, str, int, int]], due: datetime, now: datetime
) -> None:
    """One INSERT for a push's receipts (a kiosk back online may push hundreds; the ORM's
    bulk_create spent most of a 500-entry push's receipts preparing values). A key held
    already adds nothing."""
    if not rows:
        return
    columns = list(zip(*rows, strict=True))
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {_MESSAGES} (key, kind, phone, member_id, language, body, parts, cost,"
            " marketing, state, attempts, not_before, expires_at, gateway, error, created_at)"
            " SELECT k, kd, ph, mb, lg, bd, pt, ct, false, 'queued', 0, %s, %s, '', '', %s"
            " FROM unnest(%s::text[], %s::text[], %s::text[], %s::text[], %s::text[], %s::text[],"
            " %s::int[], %s::bigint[]) AS t(k, kd, ph, mb, lg, bd, pt, ct)"
            " ON CONFLICT (key) DO NOTHING",
            [due, due + LIFETIME, now, *[list(c) for c in columns]],
        )


def _receipts_since(member_ids: list[str], since: datetime) -> dict[str, int]:
    """How many receipts each member was queued since `since`."""
    if not member_ids:
        return {}
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT member_id, count(*) FROM hub_message WHERE member_id = ANY(%s)"
            " AND kind IN ('receipt', 'redeem') AND created_at >= %s GROUP BY member_id",
            [sorted(member_ids), since],
        )
        return {str(m): int(n) for m, n in cursor.fetchall()}


def _balances_after(stored: Sequence[dict[str, Any]], survivor: dict[str, str]) -> dict[str, int]:
    """Each stored entry's id -> its member's balance at the hub right after it."""
    ids = sorted({survivor[str(e["member_id"])] for e in stored})
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT member_id, balance FROM hub_balance WHERE member_id = ANY(%s)", [ids]
        )
        running = defaultdict(int, {str(m): int(b) for m, b in cursor.fetchall()})
    after: dict[str, int] = {}
    for entry in reversed(stored):  # the batch's later entries taken off, last first
        member = survivor[str(entry["member_id"])]
        after[str(entry["entry_id"])] = running[member]
        running[member] -= int(entry["points"])
    return after


def _cancel_voided(device: Device, stored: Sequence[dict[str, Any]], now: datetime) -> set[str]:
    """Cancel the queued receipts of entries this push reverses; the ids it reverses."""
    reversed_ids = {
        str(e["reverses"]) for e in stored if e["kind"] == "reversal" and e.get("reverses")
    }
    if reversed_ids:
        Message.objects.filter(
            key__in=[key(device.device_id, r) for r in sorted(reversed_ids)], state="queued"
        ).update(state="cancelled", finished_at=now, error="the entry was voided")
    return reversed_ids


def _keep_visits(stored: Sequence[dict[str, Any]], survivor: dict[str, str]) -> None:
    """Each member's last visit (an earn or a redemption), the later of held and pushed."""
    last: dict[str, datetime] = {}
    for entry in stored:
        made = parse_timestamp(entry["created_at"])
        if entry["kind"] not in KINDS or made is None:
            continue
        member = survivor[str(entry["member_id"])]
        if member not in last or made > last[member]:
            last[member] = made
    if not last:
        return
    ids = sorted(last)  # one order for every push: concurrent ones wait, never deadlock
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {_VISITS} (member_id, at)"
            " SELECT * FROM unnest(%s::text[], %s::timestamptz[]) ORDER BY 1"
            f" ON CONFLICT (member_id) DO UPDATE SET at = GREATEST({_VISITS}.at, excluded.at)",
            [ids, [last[m] for m in ids]],
        )


def choose(member_id: str, wanted: bool, via: str, now: datetime | None = None) -> None:
    """The member's own choice: receipts yes or no, from now on (queued ones too)."""
    moment = now or timezone.now()
    ReceiptChoice.objects.update_or_create(
        member_id=member_id, defaults={"wanted": wanted, "at": moment, "via": via}
    )
    if not wanted:
        Message.objects.filter(member_id=member_id, kind__in=KINDS.values(), state="queued").update(
            state="cancelled", finished_at=moment, error=f"receipts turned off ({via})"
        )


def wanted(member_id: str) -> bool:
    """Whether the member gets receipts under the chain's policy and their own choice."""
    rules = limits.policy()
    if rules.receipts == "off":
        return False
    choice = (
        ReceiptChoice.objects.filter(member_id=member_id).values_list("wanted", flat=True).first()
    )
    return choice is True or (rules.receipts == "opt_out" and choice is None)
