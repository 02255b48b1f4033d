"""The proof a right code earns, and the hub taking it for a card linked to a phone.

A proof is `v1.<verification id>.<expiry, Unix seconds>.<signature>`, the signature (keyed
with the hub's secret) over the verification's id, device, purpose, phone digest, card and
expiry: it names nothing personal, and no other device, phone, card or purpose can use it.
It is one-time: the push that links the card marks the verification used. A kiosk need not
carry it back: the hub finds the verification a push's card link matches (the device, the
phone, the card), so a kiosk's record of its proof is for its own audit; one that is
attached to the record (`verification`, docs/sync-protocol.md) is checked as well.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.db.models import QuerySet

from hub.devices.models import Device
from hub.verification import secrets
from hub.verification.models import Verification

# How long after the code a push may take the proof: a kiosk online a moment ago pushes
# within seconds, but its push may wait for a network that dropped right after.
PROOF_VALID = timedelta(hours=24)


@dataclass(frozen=True)
class Verified:
    """The code was right: the one-time proof the kiosk's change is taken with."""

    proof: str
    expires_at: datetime


def _claims(row: Verification, device_id: str, expires: int) -> str:
    return "|".join(
        (str(row.pk), device_id, row.purpose, row.phone_digest, row.card or "", str(expires))
    )


def issue(row: Verification, device: Device) -> Verified:
    """The proof of a verified code."""
    assert row.verified_at is not None
    expires_at = row.verified_at + PROOF_VALID
    expires = int(expires_at.timestamp())
    signature = secrets.proof_signature(_claims(row, str(device.device_id), expires))
    return Verified(f"v1.{row.pk}.{expires}.{signature}", expires_at)


def valid(
    proof: str, device: Device, phone: str, card: str | None, now: datetime
) -> Verification | None:
    """The verification a proof stands for, if it is this device's for this phone and card."""
    parts = proof.split(".")
    if len(parts) != 4 or parts[0] != "v1" or not parts[1].isdigit() or not parts[2].isdigit():
        return None
    row = Verification.objects.filter(pk=int(parts[1]), device=device).first()
    if row is None or int(parts[2]) < now.timestamp():
        return None
    if not secrets.signature_matches(_claims(row, str(device.device_id), int(parts[2])), parts[3]):
        return None
    if row.phone_digest != secrets.phone_digest(phone) or row.card != card:
        return None
    return row


def take_for_link(
    device: Device, phone: str, card: str, now: datetime, proof: str | None = None
) -> bool:
    """Mark used the verified, unused code of this device for this phone and card; whether
    there was one (the card may then be linked). Inside the push's transaction."""
    if proof is not None:
        row = valid(proof, device, phone, card, now)
        if row is None:
            return False
        candidates = Verification.objects.filter(pk=row.pk)
    else:
        candidates = Verification.objects.filter(
            device=device, phone_digest=secrets.phone_digest(phone), card=card
        )
    return _use(candidates, now)


def take_for_enroll(
    device: Device, phone: str, now: datetime, proof: str | None = None, card: str | None = None
) -> bool:
    """Mark used the verified, unused enrollment code of this device for this phone (the
    proof's, when given: bound to `card` too); whether there was one. In the push's
    transaction."""
    if proof is not None:
        row = valid(proof, device, phone, card, now)
        if row is None or row.purpose != "enroll":
            return False
        candidates = Verification.objects.filter(pk=row.pk)
    else:
        candidates = Verification.objects.filter(
            device=device, phone_digest=secrets.phone_digest(phone), purpose="enroll"
        )
    return _use(candidates, now)


def _use(candidates: QuerySet[Verification], now: datetime) -> bool:
    """Mark used the latest verified, unexpired one of `candidates`; whether there was one."""
    found = (
        candidates.select_for_update()
        .filter(state="verified", verified_at__gt=now - PROOF_VALID)
        .order_by("-verified_at")
        .first()
    )
    if found is None:
        return False
    found.state, found.used_at = "used", now
    found.save(update_fields=["state", "used_at"])
    return True


def utc(moment: datetime) -> str:
    """A protocol timestamp."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
