"""Redeeming a reward: the CRM's hold first when there is one, else the offline allowance.

docs/sync-protocol.md, "Holds": a redemption is authorised at the CRM before the coupon is
shown, outside the write transaction; only a kiosk that cannot reach it falls back to
`program.offline_redemption_allowance`.
"""

from __future__ import annotations

import secrets
from datetime import datetime

from kiosk.core import badges
from kiosk.core.authorize import Authorization, Authorizer, Held, HoldRequest, Refused, Unreachable
from kiosk.core.clock import to_iso
from kiosk.core.enrollment import EnrollmentService
from kiosk.core.program import find_reward, reward_is_active
from kiosk.core.results import RedeemResult
from kiosk.core.service_base import staff_id
from kiosk.core.store import audit
from kiosk.core.store.coupons import Coupon, Coupons
from kiosk.core.store.outbox import Outbox
from kiosk.core.store.staff import Actor
from kiosk.errors import InsufficientPoints, LimitReached, RewardInactive, UnknownReward

# The message of a redemption the CRM refused: the points were spent elsewhere, or never there.
HUB_REFUSED_KEY = "error.insufficient_points.crm"
_COUPON_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"  # no 0/O, 1/I/L: read aloud at a till


class RedemptionService(EnrollmentService):
    """Rewards for points, authorised online when the CRM answers."""

    # The CRM's online authorisation of redemptions (kiosk/bootstrap.py sets it when a CRM
    # is configured); None: redemptions are decided here, with the offline allowance.
    authorizer: Authorizer | None = None

    def redeem(
        self, member_id: str, reward_id: str, *, cashier: Actor, client_txn_id: str
    ) -> RedeemResult:
        """Spend points on a reward from the catalogue; returns the coupon code to show.

        With a CRM, its hold on the points comes first, outside the write transaction
        (docs/sync-protocol.md, "Holds"): held, the redemption goes ahead on the CRM's word;
        refused, nothing is written; unreachable, the offline allowance decides.
        """
        cashier.require("redeem")
        request = {"member_id": member_id, "reward_id": reward_id}
        online = self._authorize(member_id, reward_id, client_txn_id)

        def write() -> RedeemResult:
            now = self.clock()
            member = self._active(member_id)
            reward = find_reward(self.program, reward_id)
            if reward is None:
                raise UnknownReward(reward_id=reward_id)
            if not reward_is_active(reward, self.local_today(now)):
                raise RewardInactive()
            self._expire_due(now, member_id)
            if not isinstance(online, Held):  # held: the CRM's balance is newer than ours
                balance = self.effective_balance(member_id)
                if balance < reward.cost:
                    raise InsufficientPoints(balance=balance, needed=reward.cost)
                unreachable = isinstance(online, Unreachable)
                self._check_offline_allowance(member_id, reward.cost, now, unreachable)
            code = "".join(secrets.choice(_COUPON_ALPHABET) for _ in range(8))
            stamp = to_iso(now)
            entry = self.ledger.append(
                kind="redeem",
                member_id=member_id,
                points=-reward.cost,
                created_at=stamp,
                cashier_id=staff_id(cashier),
                client_txn_id=client_txn_id,
                reward_id=reward.id,
                coupon_code=code,
            )
            # A redemption is a visit too, and the first one may be a badge (kiosk/core/badges.py).
            badges.give(self, member, now, cashier, redemption=True)
            audit.record(
                self.conn,
                at=stamp,
                actor=cashier.actor_id,
                action="redeem",
                target=entry.entry_id,
                details={"member_id": member_id, "reward_id": reward.id},
            )
            return RedeemResult(
                entry_id=entry.entry_id,
                member_id=member_id,
                reward_id=reward.id,
                points=-reward.cost,
                balance=self.effective_balance(member_id),
                coupon_code=code,
            )

        try:
            return self._once(client_txn_id, "redeem", request, write, RedeemResult)
        except BaseException:
            if isinstance(online, Held) and self.authorizer is not None:
                self.authorizer.release(client_txn_id)  # best effort: it lapses anyway
            raise

    def coupon(self, code: str) -> Coupon | None:
        """The coupon with this code, saying whether it is void (its redemption voided)."""
        return Coupons(self.conn).find(code)

    def _authorize(
        self, member_id: str, reward_id: str, client_txn_id: str
    ) -> Authorization | None:
        """The CRM's word on a redemption, before the write; None when it is not asked.

        Not asked without a CRM, for a repeated client transaction id (answered from the
        first time, holding nothing twice), or for what the write refuses anyway.
        """
        if self.authorizer is None or not client_txn_id or len(client_txn_id) > 100:
            return None
        if self.txns.find(client_txn_id) is not None:
            return None
        member = self.members.get(member_id)
        reward = find_reward(self.program, reward_id)
        if member is None or member.status == "erased" or reward is None:
            return None
        if not reward_is_active(reward, self.local_today(self.clock())):
            return None
        answer = self.authorizer.hold(
            HoldRequest(
                client_txn_id=client_txn_id,
                member_id=member_id,
                points=reward.cost,
                reward_id=reward.id,
                outstanding=Outbox(self.conn, self.device_id).member_outstanding(member_id),
            )
        )
        if isinstance(answer, Refused):
            refused = InsufficientPoints(
                "The club's points of this member do not cover it: {balance} available, "
                "{needed} needed.",
                balance=answer.available,
                needed=reward.cost,
            )
            refused.key = HUB_REFUSED_KEY
            raise refused
        return answer

    def _check_offline_allowance(
        self, member_id: str, cost: int, now: datetime, unreachable: bool = False
    ) -> None:
        """While the CRM is out of reach, a member redeems at most the offline allowance.

        Other branches cannot see redemptions made here until the CRM is back; the bound
        keeps one member from spending the same points at several offline branches. A
        hold the CRM could not answer just now counts as out of reach too, since the
        last time it was heard from.
        """
        since = self.offline_since(now)
        if since is None and unreachable:
            heard = self.sync_state.get("last_contact_at")
            since = datetime.fromtimestamp(float(heard) if heard is not None else 0, now.tzinfo)
        if since is None:
            return
        spent = self.history.redeemed_since(member_id, self.device_id, to_iso(since))
        allowance = self.program.offline_redemption_allowance
        if spent + cost > allowance:
            raise LimitReached(
                "offline",
                f"The CRM is out of reach: at most {allowance} points can be redeemed here "
                "until it is back.",
                allowance=allowance,
            )
