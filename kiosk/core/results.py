"""What the service's writes return: plain, JSON-able records (replayed on a repeated txn id)."""

from __future__ import annotations

from dataclasses import dataclass, field

from kiosk.core.program import QuoteLine


@dataclass(frozen=True)
class EnrollResult:
    """A new member, and the enrollment bonus they got."""

    member_id: str
    bonus_points: int
    balance: int
    bonus_entry_id: str | None
    replayed: bool = False


@dataclass(frozen=True)
class Quote:
    """What a purchase would earn, why, and whether it may be recorded as it is."""

    member_id: str
    amount: int
    points: int
    tier: str
    lines: tuple[QuoteLine, ...]
    needs_manager: bool
    refusal: str | None = None
    refusal_message: str | None = None
    # For a "too_soon" refusal: seconds until the next purchase may be recorded.
    wait_seconds: int = 0


@dataclass(frozen=True)
class Bonus:
    """A bonus given along with a purchase (the birthday bonus)."""

    entry_id: str
    points: int
    reason: str


@dataclass(frozen=True)
class EarnResult:
    """A recorded purchase."""

    entry_id: str
    member_id: str
    amount: int
    points: int
    balance: int
    tier: str
    bonuses: list[Bonus] = field(default_factory=list)
    replayed: bool = False


@dataclass(frozen=True)
class RedeemResult:
    """A redeemed reward and its coupon code."""

    entry_id: str
    member_id: str
    reward_id: str
    points: int
    balance: int
    coupon_code: str
    replayed: bool = False


@dataclass(frozen=True)
class VoidResult:
    """A reversal of one earn or redemption."""

    entry_id: str
    reversed_entry_id: str
    member_id: str
    points: int
    balance: int
    replayed: bool = False


@dataclass(frozen=True)
class AdjustResult:
    """A manager's correction of a balance."""

    entry_id: str
    member_id: str
    points: int
    balance: int
    replayed: bool = False
