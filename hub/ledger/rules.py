"""The program's rules for pushed entries (docs/sync-protocol.md, "What the hub refuses").

The device proposes, the hub decides: an entry the programs in force do not allow is
rejected `outside_program`; a redemption that takes a member's hub balance (minus the
points of active holds) below the offline allowance's negative is rejected `overdraw`, and
one that goes below zero within it is stored and flagged `offline_overdraw`. Every verdict
says which flag to raise, with figures only (never a phone, name or PIN hash).

An entry is within the program when some program in force allows it: the current version,
or one superseded in the last 7 days (kiosks may not have pulled the new one yet). The
balances a redemption is judged against are read under the members' balance row locks,
taken in member-id order (hub/ledger/push.py says why).
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import connection

from hub.devices.models import Device
from hub.formats import parse_timestamp
from hub.ledger import holds, referrals
from hub.ledger.badge_check import BadgeCheck
from hub.ledger.models import Balance, Entry
from hub.members import records
from hub.program.publish import in_force
from hub.program.rules import Limits

_BALANCES = Balance._meta.db_table
_ENTRIES = Entry._meta.db_table
REVERSIBLE = frozenset({"earn", "redeem"})
OPENING_BALANCE = "import"  # the reason of an opening balance (kiosk/core/member_io.py)
BADGE = "badge:"  # a badge's bonus (kiosk/core/badges.py): reason badge:<id>


@dataclass(frozen=True)
class Verdict:
    """What becomes of an entry: stored (code None) or rejected, and the flag to raise."""

    code: str | None = None
    flag: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)


STORE = Verdict()


def _outside(reason: str, **figures: Any) -> Verdict:
    return Verdict("outside_program", "outside_program", {"reason": reason, **figures})


@dataclass
class _Stored:
    """An entry this device has stored (before this push, or earlier in it)."""

    member_id: str
    kind: str
    points: int
    reason: str = ""


class Judge:
    """The rules for one push: the programs in force, locked balances, what the batch did."""

    def __init__(self, device: Device, entries: list[Any], known: set[str]) -> None:
        self.device = device
        self.programs = in_force()
        # An offer runs by the shop's clock at the device's branch (hub/program/offers.py).
        self.zone = zoneinfo.ZoneInfo(settings.PANEL_TIME_ZONE)
        self.branch = device.branch.name if any(p.offers for p in self.programs) else None
        named = {
            e["member_id"] for e in entries if isinstance(e, dict) and e.get("member_id") in known
        }
        # A merged enrollment's entries count in its survivor's balance (and holds).
        self.survivor = records.survivor_of(named) if named else {}
        # The referrals the batch may pay, their referrers' balances locked too (referrals.py).
        self.referrals = referrals.Book(device, entries, self.zone)
        members = sorted(set(self.survivor.values()) | self.referrals.to_lock)
        self.balance = _lock_balances(members)
        self.held = holds.held_points(members) if members else {}
        reverses = sorted(
            {
                e["reverses"]
                for e in entries
                if isinstance(e, dict) and isinstance(e.get("reverses"), str)
            }
            | {bonus for e in entries if (bonus := _referral_bonus_taken_back(e))}
        )
        self.targets, self.reversed = _reversal_targets(device, reverses)
        self.badges: set[tuple[str, str]] = set()  # (member, reason) stored in this push
        # Whether a badge was reached: the member's visits at every branch (badge_check.py).
        self.reached = BadgeCheck(device, entries, self.survivor, self.zone)

    def judge(self, entry: dict[str, Any]) -> Verdict:
        """The verdict on a well-formed entry of a known member."""
        if not self.programs:
            return _outside("no_program")
        rules: dict[str, Callable[[dict[str, Any]], Verdict]] = {
            "earn": self._earn,
            "redeem": self._redeem,
            "bonus": self._bonus,
            "adjust": self._adjust,
            "expire": self._expire,
            "reversal": self._reversal,
        }
        return rules.get(entry["kind"], _unknown)(entry)

    def stored(self, entry: dict[str, Any]) -> None:
        """Count a stored entry in what later entries of the batch are judged against."""
        member_id = entry["member_id"]
        counted = self.survivor.get(member_id, member_id)
        self.balance[counted] = self.balance.get(counted, 0) + entry["points"]
        reason = str(entry.get("reason") or "")
        self.targets[entry["entry_id"]] = _Stored(member_id, entry["kind"], entry["points"], reason)
        if entry["kind"] == "reversal":
            self.reversed.add(entry["reverses"])
        if bonus := _referral_bonus_taken_back(entry):
            self.reversed.add(bonus)
        self.referrals.stored(entry)
        self.reached.stored(entry)

    # -- one rule per kind -----------------------------------------------------------

    def _earn(self, entry: dict[str, Any]) -> Verdict:
        points, amount = entry["points"], entry["amount"]
        if points < 0:
            return _outside("points_negative", points=points)
        if amount is None or amount <= 0:
            return _outside("no_amount", amount=amount)
        created = parse_timestamp(entry["created_at"])
        at = created.astimezone(self.zone) if created else None
        if any(_earns(p, amount, points, at, self.branch) for p in self.programs):
            return STORE
        now = self.programs[0]
        return _outside(
            "earn_above_program",
            points=points,
            amount=amount,
            version=now.version,
            max_points_per_purchase=now.max_points_per_purchase,
            most_for_amount=now.most_earned(amount, at, self.branch),
            max_amount=now.max_amount,
        )

    def _redeem(self, entry: dict[str, Any]) -> Verdict:
        reward_id, points = entry["reward_id"], entry["points"]
        costs = {p.reward_costs[reward_id] for p in self.programs if reward_id in p.reward_costs}
        if not costs:
            return _outside("unknown_reward", reward_id=reward_id, points=points)
        if -points not in costs:
            return _outside("wrong_cost", reward_id=reward_id, points=points, cost=min(costs))
        return self._overdraw(entry)

    def _bonus(self, entry: dict[str, Any]) -> Verdict:
        if str(entry.get("reason") or "").split(":")[0] == "referral":
            # The new member's (`referral`) or the referrer's (`referral:<member id>`): once,
            # after a purchase, within the cap at every branch (hub/ledger/referrals.py).
            refused = self.referrals.judge(entry)
            return STORE if refused is None else _outside(refused[0], **refused[1])
        if str(entry.get("reason") or "").startswith(BADGE):
            return self._badge(entry)
        most = max(p.max_bonus for p in self.programs)
        if not 0 < entry["points"] <= most:
            return _outside("bonus_above_program", points=entry["points"], max_bonus=most)
        return STORE

    def _badge(self, entry: dict[str, Any]) -> Verdict:
        """A badge's bonus: a badge a program in force gives, at most its points, and once
        per member (two branches that each counted a member's 10th visit: the second is
        refused, docs/program.md, "Streaks and badges")."""
        badge, points = entry["reason"][len(BADGE) :], entry["points"]
        most = max(p.badges.get(badge, 0) for p in self.programs)
        if not 0 < points <= most:
            return _outside("badge_above_program", badge=badge, points=points, max_bonus=most)
        member = self.survivor.get(entry["member_id"], entry["member_id"])
        if (member, entry["reason"]) in self.badges or Entry.objects.filter(
            member_id__in={member, entry["member_id"]}, kind="bonus", reason=entry["reason"]
        ).exists():
            return _outside("badge_given_before", badge=badge, points=points)
        missing = self.reached.missing(entry, member)
        if missing is not None:  # the member's visits at the hub do not reach it
            return _outside("badge_not_reached", badge=badge, points=points, **missing)
        self.badges.add((member, entry["reason"]))
        return STORE

    def _adjust(self, entry: dict[str, Any]) -> Verdict:
        if entry["reason"] == referrals.VOID_REASON:
            return self._referral_void(entry)
        points = entry["points"]
        most = max(p.max_adjust_points for p in self.programs)
        if abs(points) <= most:
            return STORE
        if entry["reason"] == OPENING_BALANCE and points > 0:
            # An opening balance from `kiosk member import`: its own limit, and the owner
            # hears of every one above a correction's (one stolen kiosk cannot mint quietly).
            opening = max(p.max_opening_balance for p in self.programs)
            if points <= opening:
                return Verdict(None, "large_opening_balance", {"points": points})
            return _outside("opening_balance_above_limit", points=points, max_opening=opening)
        return _outside("adjust_above_limit", points=points, max_adjust_points=most)

    def _referral_void(self, entry: dict[str, Any]) -> Verdict:
        """A kiosk taking back a referral bonus it paid (`referral_void:<bonus entry id>`,
        kiosk/core/referral.py `take_back_at_void`): only a bonus of this device the hub
        stored, by its points, once. A bonus the hub refused (paid elsewhere, over the cap)
        was never in the member's points here: taking it back would take theirs."""
        bonus_id = _referral_bonus_taken_back(entry)
        target = self.targets.get(bonus_id) if bonus_id else None
        points = entry["points"]
        if (
            target is None
            or target.kind != "bonus"
            or target.reason.split(":")[0] != referrals.REASON
            or target.member_id != entry["member_id"]
            or points != -target.points
        ):
            return _outside("referral_void_without_bonus", points=points)
        if bonus_id in self.reversed:
            return _outside("already_reversed", points=points)
        return STORE

    def _expire(self, entry: dict[str, Any]) -> Verdict:
        if entry["points"] > 0:
            return _outside("expire_adds_points", points=entry["points"])
        return STORE

    def _reversal(self, entry: dict[str, Any]) -> Verdict:
        target_id = entry["reverses"]
        target = self.targets.get(target_id) if target_id else None
        if target is None or target.kind not in REVERSIBLE:
            return _outside("reverses_nothing", points=entry["points"])
        if target.member_id != entry["member_id"] or entry["points"] != -target.points:
            return _outside("not_the_reverse", points=entry["points"], reversed=target.points)
        if target_id in self.reversed:
            return _outside("already_reversed", points=entry["points"])
        return STORE

    # -- overdraws ---------------------------------------------------------------------

    def _overdraw(self, entry: dict[str, Any]) -> Verdict:
        member_id, points = entry["member_id"], entry["points"]
        member_id = self.survivor.get(member_id, member_id)
        if holds.confirms(self.device, entry):
            # The hub said yes before the coupon was shown: never an overdraw. Its hold's
            # points are in the balance from now on, no longer beside it.
            self.held[member_id] = max(0, self.held.get(member_id, 0) + points)
            return STORE
        balance = self.balance.get(member_id, 0)
        held = self.held.get(member_id, 0)
        after = balance - held + points
        allowance = max(p.offline_redemption_allowance for p in self.programs)
        figures = {"points": points, "balance": balance, "held": held, "allowance": allowance}
        if after < -allowance:
            return Verdict("overdraw", "overdraw", figures)
        if after < 0:
            return Verdict(None, "offline_overdraw", figures)
        return STORE


def _unknown(entry: dict[str, Any]) -> Verdict:
    return _outside("unknown_kind")


def _earns(
    program: Limits, amount: int, points: int, at: datetime | None, branch: str | None
) -> bool:
    """Whether `program` lets a purchase of `amount` at `at` (shop-local, the entry's own
    time) at `branch` earn `points`, its offers running then included."""
    if amount > program.max_amount:
        return False
    cap = program.max_points_per_purchase
    if cap and points > cap:
        return False
    return points <= program.most_earned(amount, at, branch)


def _lock_balances(members: list[str]) -> dict[str, int]:
    """Each member's hub balance, its row locked to the end of the push (id order)."""
    if not members:
        return {}
    with connection.cursor() as cursor:
        # A member's first entries have no row yet: one is made (0 points), so that there
        # is a row to lock and a concurrent push of the same member waits here.
        cursor.execute(
            f"INSERT INTO {_BALANCES} (member_id, balance, updated_at) "
            "SELECT m, 0, now() FROM unnest(%s::text[]) AS m ORDER BY m "
            "ON CONFLICT (member_id) DO NOTHING",
            [members],
        )
        cursor.execute(
            f"SELECT member_id, balance FROM {_BALANCES} WHERE member_id = ANY(%s) "
            "ORDER BY member_id FOR UPDATE",
            [members],
        )
        return {str(row[0]): int(row[1]) for row in cursor.fetchall()}


def _referral_bonus_taken_back(entry: object) -> str | None:
    """The referral bonus a kiosk's `referral_void` adjustment names (its client
    transaction id is `referral_void:<bonus entry id>`), or None."""
    if not isinstance(entry, dict) or entry.get("reason") != referrals.VOID_REASON:
        return None
    txn = entry.get("client_txn_id")
    prefix = f"{referrals.VOID_REASON}:"
    if not isinstance(txn, str) or not txn.startswith(prefix):
        return None
    return txn[len(prefix) :] or None


def _reversal_targets(device: Device, ids: list[str]) -> tuple[dict[str, _Stored], set[str]]:
    """The device's stored entries a batch's reversals (and referral take-backs) name, and
    those already reversed or taken back."""
    if not ids:
        return {}, set()
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT entry_id, member_id, kind, points, COALESCE(reason, '') FROM {_ENTRIES} "
            "WHERE device_id = %s AND status = 'stored' AND entry_id = ANY(%s)",
            [device.pk, ids],
        )
        targets = {
            str(r[0]): _Stored(str(r[1]), str(r[2]), int(r[3]), str(r[4]))
            for r in cursor.fetchall()
        }
        taken = [f"{referrals.VOID_REASON}:{i}" for i in ids]
        cursor.execute(
            f"SELECT reverses FROM {_ENTRIES} WHERE device_id = %s AND status = 'stored' "
            "AND kind = 'reversal' AND reverses = ANY(%s) "
            f"UNION SELECT substr(client_txn_id, {len(referrals.VOID_REASON) + 2}) "
            f"FROM {_ENTRIES} WHERE device_id = %s AND status = 'stored' AND kind = 'adjust' "
            "AND reason = %s AND client_txn_id = ANY(%s)",
            [device.pk, ids, device.pk, referrals.VOID_REASON, taken],
        )
        return targets, {str(r[0]) for r in cursor.fetchall()}
