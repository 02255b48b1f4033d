"""Referral bonuses at the hub: paid once, wherever the first purchase is, never forged.

The hub is the arbiter (docs/program.md, "Referrals"). A referral reaches it with the new
member's record (hub/members/referrals.py keeps it). A pushed `bonus` of reason `referral`
(the new member's) or `referral:<new member id>` (the referrer's) is stored only when:

- a program in force has referrals on and gives that side at least its points;
- the hub holds that new member's referral (not refused), and a `referral:<id>` bonus is
  the referrer's own;
- the new member (or an id merged with them) has a qualifying purchase stored before or
  earlier in the same batch: an `earn` of at least `min_purchase`, not reversed;
- it is the first payment of that referral: one bonus per side, both from the device that
  paid it (a payment by the hub or another branch, a capped or voided referral: refused);
- the referrer's paid referrals in the month (the Jalali month of the shop's time zone,
  counted over every branch and the hub's own payments) are below `max_per_month`.

Otherwise it is rejected `outside_program` with a `referral_*` reason, and flagged.

After a push's entries are stored (`Book.settle`), a referral still pending whose new
member now has a qualifying purchase (bought at a branch that does not hold the referral,
or a referral that came after the purchase) is paid by the hub itself: two `bonus` entries
of the hub (hub/ledger/adjustments.py's shape: no device, the hub's own sequence), by the
current program's amounts, within the referrer's cap (else the referral is capped). When
the paying purchase is reversed later, the hub takes its own bonuses back (`adjust`,
reason `referral_void`, as a kiosk does); a kiosk takes back those it paid itself.

Locks, in a push's order (hub/ledger/push.py): the referral rows of the batch (new member
id order) after the members' rows and before the balances; the referrers' balance rows
are locked with the batch's (hub/ledger/rules.py), so that two pushes paying the same
referrer at once count the cap one after the other.
"""

from __future__ import annotations

import json
import zoneinfo
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import connection

from hub.devices.models import Device
from hub.flags.flags import Raised
from hub.formats import is_text, parse_timestamp
from hub.integration import events
from hub.ledger.adjustments import hub_entry
from hub.ledger.models import Entry
from hub.members import records
from hub.members.models import Referral
from hub.program.referral import month_of, rules_in_force

REASON = "referral"
PREFIX = "referral:"
VOID_REASON = "referral_void"
ACTOR = "hub:referral"  # the `cashier_id` of the hub's own referral entries
_SEQUENCE_LOCK = 0x48756241  # hub/ledger/adjustments.py's: one sequence of hub entries
_ENTRIES = Entry._meta.db_table
_REFERRALS = Referral._meta.db_table
_COLUMNS = (
    "member_id, referrer_id, state, paid_by, paid_device_id, purchase_id, referee_entry, "
    "referrer_entry, received_at"
)
Refusal = tuple[str, dict[str, Any]]  # (the reason of outside_program, its figures)


@dataclass
class _Referral:
    """A referral as held, locked for the push."""

    member_id: str  # the new member, as enrolled
    referrer_id: str
    state: str
    paid_by: str | None
    paid_device_id: int | None
    purchase_id: str | None
    referee_entry: str | None
    referrer_entry: str | None
    received_at: datetime
    new: str = ""  # the new member's survivor (merges)
    referrer: str = ""  # the referrer's survivor


@dataclass(frozen=True)
class _Earn:
    entry_id: str
    device_id: int | None
    amount: int
    created_at: datetime


class Book:
    """The referrals one push may pay: those of the batch's members, and those taken with
    its records (hub/members/referrals.py, in the same transaction)."""

    def __init__(self, device: Device, entries: list[Any], zone: zoneinfo.ZoneInfo) -> None:
        self.device = device
        self.zone = zone
        named = set()
        for entry in entries:
            if not isinstance(entry, dict):
                continue
            if is_text(entry.get("member_id")):
                named.add(str(entry["member_id"]))
            reason = entry.get("reason")
            if is_text(reason) and str(reason).startswith(PREFIX):
                named.add(str(reason)[len(PREFIX) :])
        self.survivor = records.survivor_of(named) if named else {}
        family = sorted(records.family(set(self.survivor.values()))) if named else []
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT {_COLUMNS} FROM {_REFERRALS} WHERE member_id = ANY(%s) "
                "OR (received_at = now() AND state = 'pending') ORDER BY member_id FOR UPDATE",
                [family],
            )
            found = [_Referral(*row) for row in cursor.fetchall()]
        if found:
            ids = {r.member_id for r in found} | {r.referrer_id for r in found}
            self.survivor |= records.survivor_of(ids)
        self.rows: dict[str, _Referral] = {}  # the new member's survivor -> their referral
        for referral in sorted(found, key=lambda r: (r.received_at, r.member_id)):
            referral.new = self.survivor[referral.member_id]
            referral.referrer = self.survivor[referral.referrer_id]
            held = self.rows.get(referral.new)
            if held is None or (held.state == "refused" and referral.state != "refused"):
                self.rows[referral.new] = referral
        # The balances a payment may change, locked with the batch's (rules.py).
        self.to_lock = {
            who
            for r in self.rows.values()
            if r.state in ("pending", "paid")
            for who in (r.new, r.referrer)
        }
        self.earns: dict[str, list[_Earn]] = defaultdict(list)  # stored in this push
        self.reversed: set[str] = set()  # entry ids reversed in this push
        self.refused: set[str] = set()  # members whose referral bonus was refused here
        self._rules: list[dict[str, Any]] | None = None

    def rules(self) -> list[dict[str, Any]]:
        """The referral rule of each program in force, the current one first."""
        if self._rules is None:
            self._rules = rules_in_force()
        return self._rules

    # -- a kiosk's bonus ------------------------------------------------------------------

    def judge(self, entry: dict[str, Any]) -> Refusal | None:
        """Why a pushed referral bonus is refused (None: store it, and it pays the referral)."""
        refused = self._judge(entry)
        if refused is not None:  # its balance goes to the feed all the same (`settle`)
            self.refused.add(self.survivor.get(entry["member_id"], entry["member_id"]))
        return refused

    def _judge(self, entry: dict[str, Any]) -> Refusal | None:
        reason, points = str(entry["reason"]), int(entry["points"])
        side = "referee" if reason == REASON else "referrer"
        new_id = str(entry["member_id"]) if side == "referee" else reason[len(PREFIX) :]
        figures: dict[str, Any] = {"points": points, "side": side}
        on = [rule for rule in self.rules() if rule["enabled"]]
        top = max((int(rule[f"{side}_bonus"]) for rule in on), default=0)
        if not 0 < points <= top:
            return "referral_above_program", figures | {"max_bonus": top}
        referral = self.rows.get(self.survivor.get(new_id, new_id))
        if referral is None:
            return "referral_unknown", figures
        if referral.state == "refused":
            return "referral_refused", figures
        member = self.survivor.get(str(entry["member_id"]), str(entry["member_id"]))
        if side == "referrer" and member != referral.referrer:
            return "referral_not_referrer", figures
        if referral.new == referral.referrer:
            return "referral_self", figures
        if referral.state != "pending":
            ours = (
                referral.state == "paid"
                and referral.paid_by == "device"
                and referral.paid_device_id == self.device.pk
                and getattr(referral, f"{side}_entry") is None
            )
            if not ours:  # the hub, another branch, or this side already paid it
                return "referral_paid_before", figures | {"state": referral.state}
            setattr(referral, f"{side}_entry", str(entry["entry_id"]))
            _save(referral)
            return None
        least = min(int(rule["min_purchase"]) for rule in on)
        purchase = self._purchase(referral.new, least, latest=True)
        if purchase is None:
            return "referral_no_purchase", figures | {"min_purchase": least}
        at = parse_timestamp(entry["created_at"]) or purchase.created_at
        most = max(int(rule["max_per_month"]) for rule in on)
        paid = self._paid_in_month(referral.referrer, at)
        if paid >= most:
            return "referral_over_cap", figures | {"paid_this_month": paid, "max_per_month": most}
        referral.state, referral.paid_by = "paid", "device"
        referral.paid_device_id, referral.purchase_id = self.device.pk, purchase.entry_id
        setattr(referral, f"{side}_entry", str(entry["entry_id"]))
        _save(referral, paid_at=at)
        return None

    def stored(self, entry: dict[str, Any]) -> None:
        """Count an entry stored in this push (a purchase may qualify, a reversal void)."""
        if entry["kind"] == "earn" and entry["amount"] is not None:
            member = self.survivor.get(entry["member_id"], entry["member_id"])
            at = parse_timestamp(entry["created_at"])
            assert at is not None  # checked (hub/ledger/checks.py)
            earn = _Earn(str(entry["entry_id"]), self.device.pk, int(entry["amount"]), at)
            self.earns[member].append(earn)
        elif entry["kind"] == "reversal" and entry["reverses"]:
            self.reversed.add(str(entry["reverses"]))

    # -- after the push's entries are stored: the hub pays, or takes back -------------

    def settle(self, raised: list[Raised]) -> dict[str, int]:
        """Pay the referrals a kiosk did not, take back the hub's of a voided purchase; the
        points added to each member (survivor), for the push's balances and feed."""
        # A member whose only entry here was refused: a `balance` change all the same, its
        # `acknowledged` past the entry, so that the kiosk stops counting it (convergence).
        added: defaultdict[str, int] = defaultdict(int, dict.fromkeys(self.refused, 0))
        rules = self.rules()
        rule = rules[0] if rules else None
        for key in sorted(self.rows):
            referral = self.rows[key]
            if referral.state == "paid":
                if referral.purchase_id in self.reversed:  # voided by this push
                    if referral.paid_by == "hub":
                        for entry_id in (referral.referee_entry, referral.referrer_entry):
                            if entry_id is not None:
                                member, points = _take_back(entry_id)
                                added[member] += points
                    referral.state = "voided"
                    _save(referral)
                continue
            if referral.state != "pending" or rule is None or not rule["enabled"]:
                continue
            if referral.new == referral.referrer:
                continue
            purchase = self._purchase(referral.new, int(rule["min_purchase"]), latest=False)
            if purchase is None:
                continue
            paid = self._paid_in_month(referral.referrer, purchase.created_at)
            if paid >= int(rule["max_per_month"]):
                referral.state = "capped"
                _save(referral)
                raised.append(
                    Raised(
                        "referral_capped",
                        referral.member_id,
                        detail={"referrer": referral.referrer_id, "paid_this_month": paid},
                    )
                )
                continue
            for side, member, reason in (
                ("referee", referral.new, REASON),
                ("referrer", referral.referrer, PREFIX + referral.member_id),
            ):
                points = int(rule[f"{side}_bonus"])
                if points > 0 and _active(member):  # an erased referrer is paid nothing
                    txn = f"{REASON}:{side}:{referral.member_id}"
                    entry_id = _hub_entry(member, "bonus", points, reason, txn)
                    setattr(referral, f"{side}_entry", entry_id)
                    added[member] += points
            referral.state, referral.paid_by = "paid", "hub"
            referral.paid_device_id, referral.purchase_id = None, purchase.entry_id
            _save(referral, paid_at=purchase.created_at)
        return dict(added)

    # -- reading ------------------------------------------------------------------------

    def _purchase(self, new: str, least: int, *, latest: bool) -> _Earn | None:
        """A qualifying purchase of the new member (any id of theirs), not reversed: this
        device's latest (the one a kiosk pays at), or the first of all (the hub pays)."""
        with connection.cursor() as cursor:
            cursor.execute(
                f"""
                SELECT e.entry_id, e.device_id, e.amount, e.created_at FROM {_ENTRIES} e
                WHERE e.status = 'stored' AND e.kind = 'earn' AND e.member_id = ANY(%s)
                AND e.amount >= %s AND NOT EXISTS (
                    SELECT 1 FROM {_ENTRIES} r WHERE r.member_id = e.member_id
                    AND r.device_id = e.device_id AND r.status = 'stored'
                    AND r.kind = 'reversal' AND r.reverses = e.entry_id)
                """,
                [sorted(records.family([new])), least],
            )
            earns = [_Earn(str(r[0]), r[1], int(r[2]), r[3]) for r in cursor.fetchall()]
        earns += [e for e in self.earns.get(new, []) if e.amount >= least]
        earns = [e for e in earns if e.entry_id not in self.reversed]
        if not earns:
            return None
        if latest:
            return max(earns, key=lambda e: (e.device_id == self.device.pk, e.created_at))
        return min(earns, key=lambda e: (e.created_at, e.entry_id))

    def _paid_in_month(self, referrer: str, at: datetime) -> int:
        """The referrals paid to the referrer (any id of theirs) in the month of `at`."""
        start, end = month_of(at, self.zone)
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT COUNT(*) FROM {_REFERRALS} WHERE state = 'paid' "
                "AND referrer_id = ANY(%s) AND paid_at >= %s AND paid_at < %s",
                [sorted(records.family([referrer])), start, end],
            )
            return int(cursor.fetchone()[0])


def _save(referral: _Referral, paid_at: datetime | None = None) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {_REFERRALS} SET state = %s, paid_by = %s, paid_device_id = %s, "
            "purchase_id = %s, referee_entry = %s, referrer_entry = %s, "
            "paid_at = COALESCE(%s, paid_at) WHERE member_id = %s",
            [
                referral.state,
                referral.paid_by,
                referral.paid_device_id,
                referral.purchase_id,
                referral.referee_entry,
                referral.referrer_entry,
                paid_at,
                referral.member_id,
            ],
        )


def _active(member_id: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT 1 FROM hub_member WHERE member_id = %s AND status = 'active'", [member_id]
        )
        return cursor.fetchone() is not None


def _take_back(entry_id: str) -> tuple[str, int]:
    """The hub's `adjust` taking back its bonus `entry_id`: (member, points added)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT member_id, points FROM {_ENTRIES} WHERE device_id IS NULL AND entry_id = %s",
            [entry_id],
        )
        member, points = cursor.fetchone()
    _hub_entry(str(member), "adjust", -int(points), VOID_REASON, f"{VOID_REASON}:{entry_id}")
    return str(member), -int(points)


def _hub_entry(member_id: str, kind: str, points: int, reason: str, client_txn_id: str) -> str:
    """A row of the hub's own (hub/ledger/adjustments.py's shape); its entry id. The
    balance is the caller's to add (the push adds it with its own entries')."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_SEQUENCE_LOCK])
        cursor.execute(
            f"SELECT COALESCE(MAX(seq), 0) + 1, now() FROM {_ENTRIES} WHERE device_id IS NULL"
        )
        seq, now = cursor.fetchone()
        entry = hub_entry(member_id, int(seq), points, reason, ACTOR, client_txn_id, now, kind)
        entry_id = str(entry["entry_id"])
        cursor.execute(
            f"""
            INSERT INTO {_ENTRIES} (device_id, entry_id, seq, status, code, member_id, kind,
                points, amount, currency, cashier_id, created_at, reverses, reward_id,
                coupon_code, reason, expires_at, client_txn_id, as_pushed, received_at)
            VALUES (NULL, %s, %s, 'stored', NULL, %s, %s, %s, NULL, NULL, %s, %s, NULL, NULL,
                NULL, %s, NULL, %s, %s, %s)
            """,
            [
                entry_id,
                seq,
                member_id,
                kind,
                points,
                ACTOR,
                now,
                reason,
                client_txn_id,
                json.dumps(entry, sort_keys=True),
                now,
            ],
        )
    events.emit(events.HubEntryStored(entry_id))  # to the CRM, as the owner's adjustments
    return entry_id
