"""Verification codes at the counter: a code sent to the phone typed, before a card is
linked to an existing member or (when the chain asks) a new member is enrolled.

It closes a hole: anyone at the counter could tap their own new card, type another's phone,
and have the card linked to that person's account (then spend their points); or enroll
numbers that are not theirs for the enrollment bonus. The hub sends the code by SMS
(docs/sync-protocol.md, "Verification"); this module is the port through which the kiosk
asks (`Verifier`, implemented by sync/verification.py on the CRM client, injected by
kiosk/bootstrap.py as the Authorizer is) and the rules: what needs a code
(the chain's signed program's `verification`, pulled from the hub; the kiosk's own
`[verification]` config only while the program says nothing: the program wins, so that a
kiosk's config edited on its SD card asks no less than the hub checks), and that a change
goes ahead only with
a proof from the hub or, when the hub cannot be reached, a cashier's approval (PIN or staff
card), each recorded in the audit log: who, why, never the phone or the code.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, replace
from datetime import date
from typing import TYPE_CHECKING, Protocol

from kiosk.config import VerificationConfig
from kiosk.core.cards import normalize_uid
from kiosk.core.clock import to_iso
from kiosk.core.program_data import INVALID, verification_rules
from kiosk.core.pulled import PROGRAM_KEY
from kiosk.core.results import EnrollResult
from kiosk.core.store import audit
from kiosk.core.store.db import write_transaction
from kiosk.core.store.outbox import APPROVALS, ENROLL_APPROVAL, SyncState
from kiosk.core.store.staff import SHOPPER, Actor
from kiosk.errors import NotAllowed
from kiosk.text.phone import format_phone, normalize_phone

if TYPE_CHECKING:  # the service names its Verifier: imported for the types alone
    from kiosk.core.enrollment import EnrollmentService

ENROLL = "enroll"
LINK_CARD = "link_card"
PURPOSES = (ENROLL, LINK_CARD)
HUB_UNREACHABLE = "hub unreachable"
CODE_DIGITS = 5
# Who may vouch for a shopper in place of a code: the cashier's or manager's PIN or card.
APPROVERS = frozenset({"cashier", "manager"})


@dataclass(frozen=True)
class CodeRequest:
    """A code to send: to this phone (E.164), for this purpose (and card), in this language."""

    phone: str
    purpose: str
    card: str | None
    language: str


@dataclass(frozen=True)
class Sent:
    """The hub sent a code: its id, seconds until a resend may be asked, tries, life."""

    verification_id: int
    resend_after: int
    attempts_left: int
    expires_in: int


@dataclass(frozen=True)
class Wait:
    """The hub sends no code now (a resend too soon, the phone's or kiosk's hourly limit)."""

    retry_after: int
    reason: str


@dataclass(frozen=True)
class Unreachable:
    """No answer the kiosk can act on (network, timeout, 5xx, a CRM without verification):
    a cashier approves instead."""

    reason: str


@dataclass(frozen=True)
class Proven:
    """The code was right: the hub's one-time proof."""

    verification_id: int
    proof: str


@dataclass(frozen=True)
class WrongCode:
    """Not the code; so many tries left (0: it is dead, ask for a new one)."""

    attempts_left: int


@dataclass(frozen=True)
class CodeDead:
    """The code cannot be used any more (expired, exhausted, replaced, used): a new one."""

    reason: str


SendAnswer = Sent | Wait | Unreachable
CheckAnswer = Proven | WrongCode | CodeDead | Unreachable


class Verifier(Protocol):
    """Asks the hub to send a code, and checks the one typed."""

    def send(self, request: CodeRequest) -> SendAnswer:
        """Ask for a code; never raises for a hub that cannot answer."""

    def check(self, verification_id: int, code: str) -> CheckAnswer:
        """Check a typed code; never raises for a hub that cannot answer."""


@dataclass(frozen=True)
class Approval:
    """A cashier vouched for the shopper instead of a code, and why."""

    actor: Actor
    reason: str = HUB_UNREACHABLE


Verified = Proven | Approval


class CounterVerification:
    """The verification rules of one kiosk, on its service."""

    def __init__(
        self, service: EnrollmentService, verifier: Verifier | None, config: VerificationConfig
    ) -> None:
        self.service = service
        self.verifier = verifier
        self.config = config

    def required(self, purpose: str) -> bool:
        """Whether `purpose` needs a code here: on in the config and a hub to send it.

        A kiosk without a CRM (crm.url empty) has no one to send an SMS: nothing changes.
        """
        if self.verifier is None:
            return False
        asked = asked_here(self.service.conn, self.config)
        return asked.enroll if purpose == ENROLL else asked.link_card

    def phone(self, text: str) -> str:
        """The phone typed, as E.164 (InvalidPhone if it is not a mobile number)."""
        return normalize_phone(text, self.service.config.shop.phone_region)

    def send(self, phone_text: str, purpose: str, card: str | None, language: str) -> SendAnswer:
        """Ask the hub for a code to the phone typed."""
        if self.verifier is None:
            return Unreachable("no CRM")
        uid = normalize_uid(card) if card else None
        return self.verifier.send(CodeRequest(self.phone(phone_text), purpose, uid, language))

    def check(self, verification_id: int, code: str) -> CheckAnswer:
        """Check the code typed (5 digits) at the hub."""
        if self.verifier is None:
            return Unreachable("no CRM")
        return self.verifier.check(verification_id, code)

    def approval(self, actor: Actor, reason: str = HUB_UNREACHABLE) -> Approval:
        """A cashier's or manager's approval in place of a code (NotAllowed for others)."""
        if actor.role not in APPROVERS:
            raise NotAllowed(role=actor.role, action="approve a phone without its code")
        return Approval(actor, reason)

    def link_card(self, member_id: str, card: str, verified: Verified) -> None:
        """Link a tapped card to an existing member, with the hub's proof or an approval."""
        actor = verified.actor if isinstance(verified, Approval) else SHOPPER
        self.service.link_card(member_id, card, actor=actor)
        self._record(verified, LINK_CARD, member_id, card)

    def enroll(
        self,
        phone: str,
        verified: Verified | None,
        *,
        client_txn_id: str,
        name: str | None = None,
        birthday: date | None = None,
        card: str | None = None,
        consent_marketing: bool = False,
        consent_version: str | None = None,
        language: str | None = None,
        referrer: str | None = None,
    ) -> EnrollResult:
        """Enroll (as the service does), recording the proof or approval it was made with."""
        result = self.service.enroll(
            phone,
            client_txn_id=client_txn_id,
            name=name,
            birthday=birthday,
            card=card,
            consent_marketing=consent_marketing,
            consent_version=consent_version,
            language=language,
            referrer=referrer,
        )
        if verified is not None:
            self._record(verified, ENROLL, result.member_id, card)
        return result

    def _record(self, verified: Verified, purpose: str, member_id: str, card: str | None) -> None:
        """The audit record of how the change was vouched for: never the phone or code.

        A cashier's approval of a card is also kept for the push (the hub takes the card
        with it: kiosk/core/store/outbox.py `member_record`), under the card's blind index.
        """
        now = to_iso(self.service.clock())
        if isinstance(verified, Approval) and (card or purpose == ENROLL):
            conn = self.service.conn
            with write_transaction(conn):
                if card:
                    blind = conn.execute("SELECT blind('card', ?)", (normalize_uid(card),))
                    key = str(blind.fetchone()[0])
                else:  # an enrollment without a card: the member's approval
                    key = ENROLL_APPROVAL
                state = SyncState(conn)
                approvals = state.get(APPROVALS, {})
                approvals.setdefault(member_id, {})[key] = {
                    "approved_by": verified.actor.actor_id,
                    "reason": verified.reason,
                }
                state.write({APPROVALS: approvals})
        if isinstance(verified, Approval):
            audit.record(
                self.service.conn,
                at=now,
                actor=verified.actor.actor_id,
                action="verification.approved",
                target=member_id,
                details={"purpose": purpose, "reason": verified.reason},
            )
        else:
            audit.record(
                self.service.conn,
                at=now,
                actor=SHOPPER.actor_id,
                action="verification.proven",
                target=member_id,
                details={"purpose": purpose, "verification_id": verified.verification_id},
            )


def asked_here(conn: sqlite3.Connection, config: VerificationConfig) -> VerificationConfig:
    """What needs a code at this kiosk: the pulled program's `verification` where it says,
    else the kiosk's `[verification]` config (a CRM or hub that sends no such setting)."""
    data = SyncState(conn).get(PROGRAM_KEY)
    if not data:
        return config
    try:
        rules = verification_rules(data)
    except INVALID:
        return config  # a program the kiosk would not apply (kiosk/core/pulled.py)
    return replace(config, **rules)


def masked_national(e164: str, region: str) -> str:
    """The phone as written at home with its middle hidden: "0912 *** 4567".

    The shopper recognises their number; whoever stands beside them does not learn it.
    """
    shown = format_phone(e164, region)
    digits = [i for i, char in enumerate(shown) if char.isdigit()]
    hidden = set(digits[4:-4])
    return "".join("*" if i in hidden else char for i, char in enumerate(shown))
