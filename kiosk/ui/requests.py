"""What one screen asks of the next: a typed request per screen that takes one.

`app.go(request)` shows the screen the request names (`screen`), prepared with it;
`app.go("name")` shows a screen that needs nothing (a `BareScreen`). A screen's
`prepare` takes its request type, `None` when shown by name.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from enum import Enum
from typing import ClassVar, Literal

from kiosk.core.store.staff import Actor
from kiosk.core.verification import Sent, Verified

# Screens shown by name alone: either they take no request, or none means "as it stands".
BareScreen = Literal[
    "attract",
    "phone",
    "enroll",
    "name",
    "birthday",
    "referral",
    "member",
    "amount",
    "redeem",
    "cashier",
    "void",
    "tech",
    "provision",
    "first_boot",
    "staff",
    "out_of_service",
    "feedback",
]
# Screens shown only with their request.
RequestedScreen = Literal["pin", "result", "new_pin", "verify"]
ScreenName = BareScreen | RequestedScreen
ResultKind = Literal["earn", "enroll", "void"]
# What a line under "+N points" names: a bonus entry's reason, or an offer in the quote.
BonusKind = Literal["birthday", "anniversary", "offer", "referral", "badge"]


class PinPurpose(Enum):
    """What a PIN prompt lets the person do next (its value names the prompt's title)."""

    SHIFT = "shift"  # open the cashier's shift
    APPROVE = "approve"  # approve a shopper's redemption
    MANAGER = "manager"  # approve a purchase above the manager's threshold
    TECHNICIAN = "technician"  # open the technician's screens


@dataclass(frozen=True)
class AttractRequest:
    """The attract screen with a message (e.g. after an unexpected error)."""

    screen: ClassVar[ScreenName] = "attract"
    message_key: str


@dataclass(frozen=True)
class PhoneRequest:
    """The phone keypad with a note above it instead of the usual hint."""

    screen: ClassVar[ScreenName] = "phone"
    note_key: str


@dataclass(frozen=True)
class EnrollRequest:
    """A new enrollment of this phone number (shown by name: the one in progress)."""

    screen: ClassVar[ScreenName] = "enroll"
    phone: str


@dataclass(frozen=True)
class MemberRequest:
    """The member screen with a message (e.g. the tapped card was linked)."""

    screen: ClassVar[ScreenName] = "member"
    message_key: str


@dataclass(frozen=True)
class PinRequest:
    """A PIN or a staff card for `purpose`; `then` gets the person, `back` is where cancel goes."""

    screen: ClassVar[ScreenName] = "pin"
    purpose: PinPurpose
    then: Callable[[Actor], None]
    back: BareScreen | None = None  # None: cancel forgets the shopper (the attract screen)


@dataclass(frozen=True)
class ResumePurchase:
    """Back to the purchase typed before a PIN prompt (by name: a new purchase)."""

    screen: ClassVar[ScreenName] = "amount"


@dataclass(frozen=True)
class ResumeVoid:
    """Back to the entry and reason chosen before a PIN prompt (by name: a new void)."""

    screen: ClassVar[ScreenName] = "void"


@dataclass(frozen=True)
class BonusLine:
    """One line of the result screen: what a purchase got besides its points, by kind.

    `ref` names it (an offer's or a badge's id); an offer's names are kept as the quote
    had them (its `multiplier` when it multiplied, else its `points` are a fixed bonus).
    """

    kind: BonusKind
    points: int
    ref: str = ""
    name_fa: str = ""
    name_en: str = ""
    multiplier: Decimal | None = None


@dataclass(frozen=True)
class ResultRequest:
    """What was just recorded: points won (or taken back) and the new balance."""

    screen: ClassVar[ScreenName] = "result"
    kind: ResultKind
    points: int
    balance: int
    lines: tuple[BonusLine, ...] = ()  # a line each: bonuses, offers applied, badges


@dataclass(frozen=True)
class RedeemRequest:
    """A reward the shopper picked (shown by name: the redemption in progress)."""

    screen: ClassVar[ScreenName] = "redeem"
    reward_id: str


@dataclass(frozen=True)
class TechRequest:
    """The technician's screen for the person who gave a technician's PIN."""

    screen: ClassVar[ScreenName] = "tech"
    actor: Actor


@dataclass(frozen=True)
class StaffRequest:
    """The staff list, saying that the cashier `added` was just added."""

    screen: ClassVar[ScreenName] = "staff"
    added: str


@dataclass(frozen=True)
class NewPinRequest:
    """A new PIN typed twice; `then` gets it."""

    screen: ClassVar[ScreenName] = "new_pin"
    then: Callable[[str], None]


@dataclass(frozen=True)
class VerifyRequest:
    """The code sent to `phone` (as typed) for `purpose`, typed back; `then` gets the proof
    (or a cashier's approval), `back` is where cancel goes (kiosk/ui/screens/verify.py)."""

    screen: ClassVar[ScreenName] = "verify"
    phone: str
    purpose: str
    card: str | None
    then: Callable[[Verified], None]
    back: BareScreen
    sent: Sent | None = None  # the hub's answer: shown with it only


ScreenRequest = (
    AttractRequest
    | PhoneRequest
    | EnrollRequest
    | MemberRequest
    | PinRequest
    | ResumePurchase
    | ResumeVoid
    | ResultRequest
    | RedeemRequest
    | TechRequest
    | StaffRequest
    | NewPinRequest
    | VerifyRequest
)
