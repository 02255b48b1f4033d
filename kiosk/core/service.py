"""The service API that the touch app, the CLI and the sync worker call for every change of points.

`LoyaltyService` brings together identifying and enrolling (`kiosk.core.enrollment`),
redeeming (`kiosk.core.redemption`) and the points operations here: quote, earn, void,
adjust and expire.
"""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from kiosk.core import badges, referral
from kiosk.core.clock import from_iso, to_iso
from kiosk.core.program import (
    anniversary_occurrence,
    birthday_occurrence,
    points_for_purchase,
    tier_by_id,
    tier_for,
    tier_rank,
)
from kiosk.core.redemption import RedemptionService
from kiosk.core.results import (
    AdjustResult,
    Bonus,
    EarnResult,
    EnrollResult,
    Quote,
    RedeemResult,
    VoidResult,
)
from kiosk.core.service_base import check_approver, staff_id
from kiosk.core.store import audit
from kiosk.core.store.db import write_transaction
from kiosk.core.store.ledger import REVERSIBLE_KINDS, EarnHistory, Entry
from kiosk.core.store.members import Member
from kiosk.core.store.staff import SYSTEM, Actor
from kiosk.errors import (
    InsufficientPoints,
    InvalidAmount,
    InvalidInput,
    LimitReached,
    ManagerApprovalRequired,
    NotReversible,
    UnknownEntry,
    VoidNeedsManager,
)

if TYPE_CHECKING:
    from kiosk.config import TierConfig


__all__ = [
    "AdjustResult",
    "Bonus",
    "EarnResult",
    "EnrollResult",
    "LoyaltyService",
    "Quote",
    "RedeemResult",
    "VoidResult",
]


class LoyaltyService(RedemptionService):
    """Identify, enroll, quote, earn, redeem, void, adjust and expire on one kiosk database."""

    # -- points ------------------------------------------------------------------

    def quote(self, member_id: str, amount: int) -> Quote:
        """The points a purchase of `amount` rial would earn now, with the reasons and limits."""
        self._check_amount(amount)
        member = self._active(member_id)
        return self._quote(member, amount, self.clock())

    def _earn_history(self, member_id: str, now: datetime) -> EarnHistory:
        """Points in the tier window and today's and recent purchases (one query)."""
        minutes = self.program.limits.min_minutes_between_earns
        return self.history.earn_history(
            member_id,
            window_since=to_iso(now - timedelta(days=self.program.tier_window_days)),
            day_start=to_iso(self._day_start(now)),
            # An earn exactly `min_minutes` ago is far enough back.
            recent_start=to_iso(now - timedelta(minutes=minutes, microseconds=-1)),
        )

    def _quote(
        self, member: Member, amount: int, now: datetime, history: EarnHistory | None = None
    ) -> Quote:
        if history is None:
            history = self._earn_history(member.member_id, now)
        tier = self.effective_tier(member, now, history.earned_in_window)
        language = (member.person.language if member.person else None) or (
            self.config.shop.default_language
        )
        rule = points_for_purchase(
            self.program,
            amount,
            tier,
            at=now.astimezone(self.tz),  # offers run by the shop's clock
            branch=self.config.shop.name,
            language=language,
        )
        limits = self.program.limits
        refusal = None
        wait = 0
        count, recent = history.earns_today, history.earns_recent
        if limits.max_earns_per_day and count >= limits.max_earns_per_day:
            refusal = (
                "earns_per_day",
                f"This member has had {count} purchases today, the most allowed.",
            )
        elif limits.min_minutes_between_earns and recent:
            wait = _seconds_left(
                history.last_recent_at, timedelta(minutes=limits.min_minutes_between_earns), now
            )
            refusal = (
                "too_soon",
                f"Purchases are {limits.min_minutes_between_earns} minutes apart: "
                f"the next one can be recorded in {wait} seconds.",
            )
        threshold = limits.manager_approval_above
        return Quote(
            member_id=member.member_id,
            amount=amount,
            points=rule.points,
            tier=tier.id,
            lines=rule.lines,
            needs_manager=bool(threshold) and amount > threshold,
            refusal=refusal[0] if refusal else None,
            refusal_message=refusal[1] if refusal else None,
            wait_seconds=wait,
        )

    def earn(
        self,
        member_id: str,
        amount: int,
        *,
        cashier: Actor,
        client_txn_id: str,
        approved_by: Actor | None = None,
    ) -> EarnResult:
        """Record a purchase of `amount` rial and award its points (and a birthday bonus)."""
        cashier.require("earn")
        self._check_amount(amount)
        request = {"member_id": member_id, "amount": amount}

        def write() -> EarnResult:
            now = self.clock()
            member, due = self._active_with_due(member_id, now)
            if due and self._expire_due(now, member_id):
                member = self.member(member_id)  # the balance changed
            history = self._earn_history(member_id, now)  # once: the quote and the tier
            earned = history.earned_in_window
            quote = self._quote(member, amount, now, history)
            if quote.refusal:
                params = {"seconds": quote.wait_seconds} if quote.wait_seconds else {}
                raise LimitReached(quote.refusal, quote.refusal_message or "", **params)
            if quote.needs_manager and approved_by is None:
                raise ManagerApprovalRequired(threshold=self.program.limits.manager_approval_above)
            if approved_by is not None:
                check_approver(approved_by, acting=(cashier.actor_id,), action="purchase")
            stamp = to_iso(now)
            entry = self.ledger.append(
                kind="earn",
                member_id=member_id,
                points=quote.points,
                created_at=stamp,
                amount=amount,
                currency=self.config.shop.currency,
                cashier_id=staff_id(cashier),
                client_txn_id=client_txn_id,
                expires_at=self.expiry_for(now),
                balance_before=member.balance,
            )
            tier = self._promote(member, now, earned + quote.points)
            bonuses = self._birthday_bonus(member, now, cashier)
            reached = tier.id if tier.id != member.tier and tier_rank(self.program, tier) else None
            bonuses += badges.give(self, member, now, cashier, tier_reached=reached)
            paid = referral.pay_at_purchase(
                self, member_id, amount, entry.entry_id, now, staff_id(cashier)
            )
            bonuses += [Bonus(entry_id, points, referral.REASON) for entry_id, points in paid]
            audit.record(
                self.conn,
                at=stamp,
                actor=cashier.actor_id,
                action="earn",
                target=entry.entry_id,
                details={
                    "member_id": member_id,
                    "points": quote.points,
                    "approved_by": approved_by.actor_id if approved_by else None,
                },
            )
            return EarnResult(
                entry_id=entry.entry_id,
                member_id=member_id,
                amount=amount,
                points=quote.points,
                balance=self.ledger.last_balance,
                tier=tier.id,
                bonuses=bonuses,
            )

        return self._once(client_txn_id, "earn", request, write, EarnResult)

    def void(
        self,
        entry_id: str,
        *,
        reason: str,
        cashier: Actor,
        client_txn_id: str,
        approved_by: Actor | None = None,
    ) -> VoidResult:
        """Reverse one earn or redemption, once; the balance may go negative.

        A redemption's void needs `approved_by`, a manager who is neither the person voiding
        nor the cashier of the redemption: its coupon was handed out (and is void after).
        """
        cashier.require("void")
        reason = (reason or "").strip()
        if not reason:
            raise InvalidInput("Say why the transaction is voided.")
        request = {"entry_id": entry_id, "reason": reason}

        def write() -> VoidResult:
            target = self.ledger.get(entry_id)
            if target is None:
                raise UnknownEntry(entry_id=entry_id)
            if target.kind not in REVERSIBLE_KINDS:
                raise NotReversible(
                    entry_id=entry_id, reason="only a purchase or a redemption can be voided"
                )
            if self.history.is_reversed(entry_id):
                raise NotReversible(entry_id=entry_id, reason="it was already voided")
            if target.kind == "redeem":
                if approved_by is None:
                    raise VoidNeedsManager()
                acting = (cashier.actor_id, target.cashier_id)
                check_approver(approved_by, acting=acting, action="redemption's void")
            now = self.clock()
            stamp = to_iso(now)
            entry = self.ledger.append(
                kind="reversal",
                member_id=target.member_id,
                points=-target.points,
                created_at=stamp,
                amount=target.amount,
                currency=target.currency,
                cashier_id=staff_id(cashier),
                client_txn_id=client_txn_id,
                reverses=target,
                reason=reason,
            )
            if target.kind == "earn":
                self._demote_after_void(target, now)
                referral.take_back_at_void(self, entry_id, now, staff_id(cashier))
            audit.record(
                self.conn,
                at=stamp,
                actor=cashier.actor_id,
                action="void",
                target=entry.entry_id,
                details={
                    "reverses": entry_id,
                    "reason": reason,
                    "approved_by": approved_by.actor_id if approved_by else None,
                },
            )
            return VoidResult(
                entry_id=entry.entry_id,
                reversed_entry_id=entry_id,
                member_id=target.member_id,
                points=entry.points,
                balance=self.ledger.balance(target.member_id),
            )

        return self._once(client_txn_id, "void", request, write, VoidResult)

    def adjust(
        self, member_id: str, points: int, *, reason: str, actor: Actor, client_txn_id: str
    ) -> AdjustResult:
        """A manager's correction: add or take points, with a reason; never below zero."""
        actor.require("adjust")
        reason = (reason or "").strip()
        if not reason:
            raise InvalidInput("Say why the balance is adjusted.")
        if points == 0:
            raise InvalidInput("An adjustment of zero points changes nothing.")
        request = {"member_id": member_id, "points": points, "reason": reason}

        def write() -> AdjustResult:
            now = self.clock()
            self._active(member_id)
            self._expire_due(now, member_id)
            balance = self.ledger.balance(member_id)
            if balance + points < 0:
                raise InsufficientPoints(balance=balance, needed=-points)
            stamp = to_iso(now)
            entry = self.ledger.append(
                kind="adjust",
                member_id=member_id,
                points=points,
                created_at=stamp,
                cashier_id=staff_id(actor),
                client_txn_id=client_txn_id,
                reason=reason,
                expires_at=self.expiry_for(now),
            )
            audit.record(
                self.conn,
                at=stamp,
                actor=actor.actor_id,
                action="adjust",
                target=entry.entry_id,
                details={"member_id": member_id, "points": points},
            )
            return AdjustResult(
                entry_id=entry.entry_id,
                member_id=member_id,
                points=points,
                balance=self.ledger.balance(member_id),
            )

        return self._once(client_txn_id, "adjust", request, write, AdjustResult)

    def expire_due(self, *, actor: Actor = SYSTEM) -> list[Entry]:
        """Expire every lot whose date has passed (the nightly sweep); returns the entries."""
        actor.require("expire")
        with write_transaction(self.conn):
            return self._expire_due(self.clock(), None)

    # -- rules -------------------------------------------------------------------

    def _check_amount(self, amount: int) -> None:
        if isinstance(amount, bool) or not isinstance(amount, int):
            raise InvalidAmount("not_a_number", "The amount must be a whole number of rial.")
        if amount <= 0:
            raise InvalidAmount("not_positive", "The purchase amount must be more than zero.")
        if amount > self.max_amount:  # the configured one, or the hub's program's
            raise InvalidAmount(
                "too_large", "The amount is larger than any purchase here; check it."
            )

    def effective_tier(
        self, member: Member, now: datetime, earned: int | None = None
    ) -> TierConfig:
        """The tier a purchase now earns at; `earned` (in the window) if already known."""
        held = tier_by_id(self.program, member.tier)
        if member.tier_until and from_iso(member.tier_until) > now:
            return held
        if earned is None:
            earned = self.earned_in_window(member.member_id, now)
        return tier_for(self.program, earned)

    def earned_in_window(self, member_id: str, now: datetime) -> int:
        """Points from purchases (not voided) in the tier window ending `now`."""
        window_start = now - timedelta(days=self.program.tier_window_days)
        return self.history.earned_since(member_id, to_iso(window_start))

    def _promote(self, member: Member, now: datetime, earned: int | None = None) -> TierConfig:
        """Re-decide the tier after a purchase: promote at once, demote only after the hold.

        `earned`: the points earned in the window, this purchase included, if known.
        """
        window = timedelta(days=self.program.tier_window_days)
        if earned is None:
            earned = self.earned_in_window(member.member_id, now)
        qualified = tier_for(self.program, earned)
        current = tier_by_id(self.program, member.tier)
        held = member.tier_until is not None and from_iso(member.tier_until) > now
        if held and tier_rank(self.program, qualified) < tier_rank(self.program, current):
            return current
        since = member.tier_since if qualified.id == member.tier else to_iso(now)
        until = to_iso(now + window) if tier_rank(self.program, qualified) > 0 else None
        if (qualified.id, since, until) != (member.tier, member.tier_since, member.tier_until):
            self.members.set_tier(member.member_id, qualified.id, since, until)
        return qualified

    def _demote_after_void(self, voided: Entry, now: datetime) -> None:
        """A void takes back a promotion that the voided purchase itself brought."""
        member = self.member(voided.member_id)
        if member.tier_since is None or member.tier_since < voided.created_at:
            return
        window = timedelta(days=self.program.tier_window_days)
        earned = self.history.earned_since(member.member_id, to_iso(now - window))
        qualified = tier_for(self.program, earned)
        if tier_rank(self.program, qualified) < tier_rank(
            self.program, tier_by_id(self.program, member.tier)
        ):
            until = to_iso(now + window) if tier_rank(self.program, qualified) > 0 else None
            self.members.set_tier(member.member_id, qualified.id, to_iso(now), until)

    def _birthday_bonus(self, member: Member, now: datetime, cashier: Actor) -> list[Bonus]:
        """The birthday's and the anniversary of joining's bonuses due at this purchase,
        each once per occurrence (its client transaction id names it), as `bonus` entries."""
        program, today = self.program, self.local_today(now)
        due: list[tuple[str, int, date | None]] = []
        if program.birthday_bonus > 0 and member.person and member.person.birthday:
            occurrence = birthday_occurrence(
                member.person.birthday,
                today,
                program.birthday_calendar,
                program.birthday_window_days,
                program.birthday_window_before_days,
            )
            due.append(("birthday", program.birthday_bonus, occurrence))
        if program.anniversary_bonus > 0:
            joined = self.local_today(from_iso(member.created_at))
            occurrence = anniversary_occurrence(
                joined, today, program.birthday_calendar, program.anniversary_window_days
            )
            due.append(("anniversary", program.anniversary_bonus, occurrence))
        bonuses = []
        for reason, points, day in due:
            key = f"{reason}:{member.member_id}:{day.isoformat()}" if day else ""
            if not key or self.ledger.by_client_txn(key) is not None:
                continue
            entry = self.ledger.append(
                kind="bonus",
                member_id=member.member_id,
                points=points,
                created_at=to_iso(now),
                client_txn_id=key,
                reason=reason,
                cashier_id=staff_id(cashier),
                expires_at=self.expiry_for(now),
            )
            bonuses.append(Bonus(entry.entry_id, points, reason))
        return bonuses


def _seconds_left(last: str | None, spacing: timedelta, now: datetime) -> int:
    """Whole seconds (rounded up, at least 1) until `spacing` has passed since `last`."""
    if last is None:
        return 1
    left = (from_iso(last) + spacing - now).total_seconds()
    return max(1, math.ceil(left))
