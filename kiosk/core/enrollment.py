"""Members at the counter: identifying by phone or card, enrolling, consent, cards, erasure."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date, datetime

from kiosk.core.cards import normalize_uid
from kiosk.core.clock import to_iso
from kiosk.core.directory import Found, MemberDirectory, NotFound
from kiosk.core.pulled import Here, apply_found
from kiosk.core.referral import Referrals, parse_code
from kiosk.core.results import (
    EnrollResult,
)
from kiosk.core.service_base import ServiceBase, clean_name, staff_id
from kiosk.core.store import audit
from kiosk.core.store.db import checkpoint, write_transaction
from kiosk.core.store.members import Member
from kiosk.core.store.staff import SHOPPER, Actor
from kiosk.core.verification import Verifier
from kiosk.errors import (
    AlreadyEnrolled,
    CardBlocked,
    CardInUse,
    InvalidDate,
    InvalidInput,
    StorageUnavailable,
    UnknownCard,
    UnknownMember,
)
from kiosk.text.phone import normalize_phone

log = logging.getLogger(__name__)


class EnrollmentService(ServiceBase):
    """Who is at the counter, and the changes to members that are not points."""

    # -- identifying -------------------------------------------------------------

    # Members of other branches, looked up at the CRM (kiosk/bootstrap.py sets it when a
    # CRM is configured); None: this kiosk's members only.
    directory: MemberDirectory | None = None
    # Codes sent by the hub before a card is linked or a member enrolled
    # (kiosk/core/verification.py); None: no CRM to send them.
    verifier: Verifier | None = None

    def identify_phone(self, text: str) -> Member:
        """The member with this phone number (any common way of writing it).

        Not known here, they are looked up at the CRM (a member of another branch).
        """
        phone = normalize_phone(text, self.config.shop.phone_region)
        now = self.clock()
        found = self.members.by_phone(phone, to_iso(now))
        if found is None and self._looked_up(phone=phone):
            found = self.members.by_phone(phone, to_iso(now))
        if found is None:
            raise UnknownMember(by="phone number")
        return self._identified(*found, now)

    def identify_card(self, text: str) -> Member:
        """The member whose card this is; blocked, unknown and staff cards are refused.

        A card not known here is looked up at the CRM (a member of another branch).
        """
        now = self.clock()
        uid = normalize_uid(text)
        found = self.members.by_card(uid, to_iso(now))
        if found is None and self._looked_up(card=uid):
            found = self.members.by_card(uid, to_iso(now))
        if found is None:
            raise UnknownCard()
        card, member, due = found
        if card.status == "blocked":
            raise CardBlocked()
        if member is None:
            raise UnknownMember(by="card")
        return self._identified(member, due, now)

    def _looked_up(self, *, phone: str | None = None, card: str | None = None) -> bool:
        """Ask the CRM for a member not known here; whether one was found and stored.

        Before any write transaction (the lookup is network I/O, with a short timeout). A
        card the CRM says is blocked is refused as a blocked card here is; a CRM that
        cannot answer leaves the counter as it was (an unknown shopper may enroll).
        """
        if self.directory is None:
            return False
        answer = self.directory.lookup(phone=phone, card=card)
        if isinstance(answer, NotFound) and answer.blocked:
            raise CardBlocked()
        if not isinstance(answer, Found):
            return False
        here = Here(self.device_id, self.program.tiers[0].id)
        return apply_found(self.conn, here, answer.member, answer.balance)

    def _identified(self, member: Member, due: bool, now: datetime) -> Member:
        # Expire what is due before anyone sees the balance; if the disk is failing,
        # still show the member (reading works) and let the next write retry. Most taps
        # have nothing due, and the lookup itself told us so.
        if not due:
            return member
        try:
            with write_transaction(self.conn):
                self._expire_due(now, member.member_id)
        except StorageUnavailable:
            return member
        return self.member(member.member_id)

    # -- enrolling ---------------------------------------------------------------

    def find_referrer(self, text: str) -> Member:
        """The member a typed referral code or phone names (kiosk/core/referral.py): a code
        among the members held here, a phone here or at the hub's lookup."""
        code = parse_code(text)
        if code is not None:
            found = Referrals(self.conn).by_code(code)
            if len(found) == 1:
                return self.member(found[0])
            raise UnknownMember(by="referral code")
        return self.identify_phone(text)

    def enroll(
        self,
        phone: str,
        *,
        client_txn_id: str,
        actor: Actor = SHOPPER,
        name: str | None = None,
        birthday: date | None = None,
        card: str | None = None,
        consent_marketing: bool = False,
        consent_version: str | None = None,
        language: str | None = None,
        referrer: str | None = None,
    ) -> EnrollResult:
        """Enroll a member by phone, with optional name, birthday, card and consent.

        `referrer`: the member id `find_referrer` gave (kiosk/core/referral.py)."""
        actor.require("enroll")
        phone = normalize_phone(phone, self.config.shop.phone_region)
        uid = normalize_uid(card) if card else None
        name = clean_name(name)
        now = self.clock()
        if birthday is not None and not date(1900, 1, 1) <= birthday <= self.local_today(now):
            raise InvalidDate(reason="a birthday is between 1900 and today")
        if consent_marketing and not consent_version:
            raise InvalidInput("Consent must be recorded with the version of the text shown.")
        request = {
            "phone": phone,
            "name": name,
            "birthday": birthday.isoformat() if birthday else None,
            "card": uid,
            "consent": consent_marketing,
            "consent_version": consent_version,
        }
        if referrer is not None:  # absent otherwise: earlier enrollments' fingerprints hold
            request["referrer"] = referrer

        def write() -> EnrollResult:
            if self.members.id_by_phone(phone) is not None:
                raise AlreadyEnrolled(by="phone number")
            if uid is not None and self.members.card(uid) is not None:
                raise CardInUse()
            stamp = to_iso(now)
            member_id = self.members.create(
                phone=phone,
                name=name,
                birthday=birthday,
                language=language,
                tier=self.program.tiers[0].id,
                device_id=self.device_id,
                now=stamp,
            )
            if uid is not None:
                self.members.link_card(uid, member_id=member_id, now=stamp)
            if referrer is not None:
                sender = self.member(referrer)
                if sender.person is not None and sender.person.phone == phone:
                    raise InvalidInput("A member cannot refer themselves.")
                Referrals(self.conn).add(member_id, referrer, now)
            if consent_version:
                self.members.set_consent(
                    member_id,
                    marketing=consent_marketing,
                    version=consent_version,
                    now=stamp,
                    source=actor.actor_id,
                )
            bonus = self.program.enrollment_bonus
            entry = None
            if bonus > 0:
                entry = self.ledger.append(
                    kind="bonus",
                    member_id=member_id,
                    points=bonus,
                    created_at=stamp,
                    client_txn_id=client_txn_id,
                    reason="enrollment",
                    cashier_id=staff_id(actor),
                    expires_at=self.expiry_for(now),
                )
            audit.record(
                self.conn,
                at=stamp,
                actor=actor.actor_id,
                action="member.enroll",
                target=member_id,
                details={"card": uid is not None, "consent": consent_marketing},
            )
            return EnrollResult(
                member_id=member_id,
                bonus_points=bonus if entry else 0,
                balance=self.ledger.balance(member_id),
                bonus_entry_id=entry.entry_id if entry else None,
            )

        return self._once(client_txn_id, "enroll", request, write, EnrollResult)

    def set_consent(
        self, member_id: str, *, marketing: bool, version: str, actor: Actor = SHOPPER
    ) -> None:
        """Give or withdraw marketing consent, recording the version of the text shown."""
        actor.require("consent")
        if not version:
            raise InvalidInput("Consent must be recorded with the version of the text shown.")
        now = to_iso(self.clock())
        with write_transaction(self.conn):
            self._active(member_id)
            self.members.set_consent(
                member_id, marketing=marketing, version=version, now=now, source=actor.actor_id
            )
            audit.record(
                self.conn,
                at=now,
                actor=actor.actor_id,
                action="member.consent",
                target=member_id,
                details={"marketing": marketing, "version": version},
            )

    # -- cards -------------------------------------------------------------------

    def link_card(self, member_id: str, card: str, *, actor: Actor) -> None:
        """Link another card to a member."""
        actor.require("cards")
        uid = normalize_uid(card)
        now = to_iso(self.clock())
        with write_transaction(self.conn):
            self._active(member_id)
            existing = self.members.card(uid)
            if existing is not None:
                if existing.member_id == member_id:
                    return
                raise CardInUse()
            self.members.link_card(uid, member_id=member_id, now=now)
            audit.record(
                self.conn, at=now, actor=actor.actor_id, action="card.link", target=member_id
            )

    def link_staff_card(self, staff_id: str, card: str, *, actor: Actor) -> None:
        """Link a staff card to a staff account."""
        actor.require("staff")
        uid = normalize_uid(card)
        now = to_iso(self.clock())
        with write_transaction(self.conn):
            if self.members.card(uid) is not None:
                raise CardInUse()
            self.members.link_card(uid, staff_id=staff_id, now=now)
            audit.record(
                self.conn, at=now, actor=actor.actor_id, action="card.link_staff", target=staff_id
            )

    def unlink_card(self, card: str, *, actor: Actor) -> None:
        """Forget a card, whoever it belonged to."""
        actor.require("cards")
        self._change_card(
            card, actor, "card.unlink", lambda uid, now: self.members.unlink_card(uid)
        )

    def block_card(self, card: str, *, actor: Actor) -> None:
        """Block a lost card: a tap then says it is blocked; the points stay with the member."""
        actor.require("block_card")
        self._change_card(card, actor, "card.block", self.members.block_card)

    def _change_card(
        self, card: str, actor: Actor, action: str, change: Callable[[str, str], None]
    ) -> None:
        """Apply `change(uid, now)` to a known card and audit it, in one transaction."""
        uid = normalize_uid(card)
        now = to_iso(self.clock())
        with write_transaction(self.conn):
            found = self.members.card(uid)
            if found is None:
                raise UnknownCard()
            change(uid, now)
            audit.record(
                self.conn,
                at=now,
                actor=actor.actor_id,
                action=action,
                target=found.member_id or found.staff_id,
            )

    def erase(self, member_id: str, *, actor: Actor) -> None:
        """Erase a person: their personal data and cards go, the anonymous ledger stays.

        Nothing of them stays readable in the file: the rows are overwritten (secure_delete),
        their enrollment's fingerprint replaced, and the WAL, which still holds the pages as
        they were, is checkpointed and truncated. Backups are the appliance's part
        (kiosk/appliance/backup.py `erase_from_backups`).
        """
        actor.require("erase")
        now = to_iso(self.clock())
        with write_transaction(self.conn):
            member = self.member(member_id)
            if member.status == "erased":
                return
            self.members.erase(member_id, now)
            self.txns.forget_member(member_id)
            audit.record(
                self.conn, at=now, actor=actor.actor_id, action="member.erase", target=member_id
            )
            if self.erasure_journal is not None:  # before the commit: never lost after it
                self.erasure_journal.record(member_id, now)
        if not checkpoint(self.conn):
            # A reader held an older snapshot past the busy timeout: the WAL keeps the
            # person until the next checkpoint that empties it (the next erasure or start
            # after an upgrade); rare, as every read here is one short statement.
            log.warning("the WAL could not be emptied after an erasure: a reader held it")
