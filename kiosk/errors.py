"""Typed errors of the kiosk core, each with a message key for translation."""

from __future__ import annotations

import contextlib
from typing import Any


class KioskError(Exception):
    """An error a person can act on: a message key for the catalogues plus an English text.

    `key` is looked up in the translation catalogues (issue: Persian first); `params`
    fill its placeholders. `str(error)` is the English text, for logs and the CLI.
    """

    key = "error.generic"
    default_message = "Something went wrong."

    def __init__(self, message: str | None = None, **params: Any) -> None:
        self.params: dict[str, Any] = params
        text = message if message is not None else self.default_message
        with contextlib.suppress(KeyError, IndexError, ValueError):
            text = text.format(**params)
        super().__init__(text)

    @property
    def message(self) -> str:
        """The English text of the error."""
        return str(self)


class InvalidInput(KioskError):
    """Base of every rejected input (nothing was written)."""

    key = "error.invalid_input"
    default_message = "The input is not valid."


class InvalidPhone(InvalidInput):
    """A phone number that is not a valid mobile number; `reason` says why."""

    key = "error.phone"

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message, reason=reason)
        self.reason = reason
        self.key = f"error.phone.{reason}"


class InvalidCardUid(InvalidInput):
    """A card id that is not hexadecimal or has the wrong length."""

    key = "error.card_uid"
    default_message = "The card id is not valid: {reason}."


class InvalidAmount(InvalidInput):
    """A purchase amount that is not a positive whole number in range; `reason` says why."""

    key = "error.amount"

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message, reason=reason)
        self.reason = reason
        self.key = f"error.amount.{reason}"


class InvalidDate(InvalidInput):
    """A date (birthday) that cannot be read or is out of range."""

    key = "error.date"
    default_message = "The date is not valid: {reason}."


class UnknownMember(KioskError):
    """No member matches the phone, card or id given."""

    key = "error.unknown_member"
    default_message = "No member is enrolled with this {by}."


class MemberErased(KioskError):
    """The member was erased on request; nothing more can be recorded for them."""

    key = "error.member_erased"
    default_message = "This member's personal data was erased; enroll them again."


class AlreadyEnrolled(KioskError):
    """The phone number (or card) already belongs to a member."""

    key = "error.already_enrolled"
    default_message = "This {by} already belongs to a member."


class CardBlocked(KioskError):
    """The card was reported lost and blocked."""

    key = "error.card_blocked"
    default_message = "This card is blocked. Ask the cashier for help."


class CardInUse(KioskError):
    """The card is linked to another member or to a staff member."""

    key = "error.card_in_use"
    default_message = "This card already belongs to someone else."


class UnknownCard(KioskError):
    """The card is not linked to anyone."""

    key = "error.unknown_card"
    default_message = "This card is not linked to anyone."


class InsufficientPoints(KioskError):
    """The balance does not cover the reward (or is negative after a void)."""

    key = "error.insufficient_points"
    default_message = "Not enough points: {balance} available, {needed} needed."


class UnknownReward(KioskError):
    """The reward id is not in the catalogue."""

    key = "error.unknown_reward"
    default_message = "There is no reward called {reward_id}."


class RewardInactive(KioskError):
    """The reward exists but is outside its active dates."""

    key = "error.reward_inactive"
    default_message = "This reward is not available today."


class LimitReached(KioskError):
    """A fraud limit of the program refuses the change; `limit` names which."""

    key = "error.limit"

    def __init__(self, limit: str, message: str, **params: Any) -> None:
        super().__init__(message, limit=limit, **params)
        self.limit = limit
        self.key = f"error.limit.{limit}"


class ManagerApprovalRequired(KioskError):
    """A purchase above the threshold needs a manager's approval."""

    key = "error.manager_approval_required"
    default_message = "A purchase above {threshold} needs a manager's approval."


class SelfApproval(KioskError):
    """The person approving is the one whose action needs the approval."""

    key = "error.self_approval"
    default_message = "Another person must approve this: {staff} cannot approve their own {action}."


class VoidNeedsManager(KioskError):
    """Voiding a redemption needs a manager's approval (its coupon was handed out)."""

    key = "error.void_needs_manager"
    default_message = "Voiding a redemption needs a manager's approval."


class NotAllowed(KioskError):
    """The staff member's role does not allow the action."""

    key = "error.not_allowed"
    default_message = "{role} may not {action}."


class UnknownEntry(KioskError):
    """No ledger entry has this id."""

    key = "error.unknown_entry"
    default_message = "There is no ledger entry {entry_id}."


class NotReversible(KioskError):
    """Only an earn or a redemption can be voided, and only once."""

    key = "error.not_reversible"
    default_message = "Entry {entry_id} cannot be voided: {reason}."


class IdempotencyConflict(KioskError):
    """A client transaction id was reused for a different change."""

    key = "error.idempotency_conflict"
    default_message = "Transaction id {txn} was already used for a different change."


class UnknownStaff(KioskError):
    """No staff member has this id or card."""

    key = "error.unknown_staff"
    default_message = "There is no staff member {staff}."


class StaffDisabled(KioskError):
    """The staff member was disabled."""

    key = "error.staff_disabled"
    default_message = "This staff account is disabled."


class WrongPin(KioskError):
    """The PIN does not match; `attempts_left` before a lockout."""

    key = "error.wrong_pin"
    default_message = "Wrong PIN. {attempts_left} tries left before a lockout."


class LockedOut(KioskError):
    """Too many wrong PINs: locked until `until` (UTC ISO time)."""

    key = "error.locked_out"
    default_message = "Too many wrong PINs. Try again in {seconds} seconds."


class InvalidPin(InvalidInput):
    """A new PIN that is too short, too long or not digits."""

    key = "error.invalid_pin"
    default_message = "A PIN is {min_length} to {max_length} digits."


class WeakPin(InvalidInput):
    """A new PIN a thief would try first (one digit repeated, a run like 1234 or 4321)."""

    key = "error.weak_pin"
    default_message = "This PIN is too easy to guess. Choose another."


class DuplicatePin(InvalidInput):
    """A new PIN that another active staff member already has (sign-in must name one person)."""

    key = "error.duplicate_pin"
    default_message = "This PIN is taken. Choose another."


class StorageUnavailable(KioskError):
    """The database cannot be written (disk full, read-only, I/O error)."""

    key = "error.storage"
    default_message = "The kiosk cannot save right now ({reason}). Nothing was recorded."


class DataKeyUnavailable(StorageUnavailable):
    """The key that opens the personal data cannot be had (docs/security.md, "At rest")."""

    key = "error.data_key"
    default_message = (
        "The kiosk cannot open its members' data ({reason}). Nothing was recorded; "
        "call the technician."
    )


class StorageUncertain(StorageUnavailable):
    """Saving failed at the very end (the commit): after a power cut it may be there."""

    key = "error.storage.uncertain"
    default_message = (
        "The kiosk could not confirm the save ({reason}). It may have been recorded: check "
        "the history before entering it again."
    )


class ProvisioningFailed(KioskError):
    """The kiosk could not be provisioned (or deprovisioned); `reason` says why, nothing changed.

    Reasons: unknown_code, used_code, expired_code, crm_unreachable, crm_refused,
    unacknowledged (entries the CRM has not acknowledged would be stranded),
    not_provisioned, config (the config file cannot be read or written).
    """

    key = "error.provision"

    def __init__(self, reason: str, message: str, **params: Any) -> None:
        super().__init__(message, reason=reason, **params)
        self.reason = reason
        self.key = f"error.provision.{reason}"


class SecretExposed(KioskError):
    """The device secret's file can be read by others: the kiosk will not use it."""

    key = "error.secret_exposed"
    default_message = (
        "The device secret {path} can be read by others (mode {mode}): run `chmod 600 {path}`, "
        "and provision again if it may have been copied."
    )
