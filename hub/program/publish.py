"""Publishing the owner's changes: a program version, a staff member, signed, in the feed.

Each is one transaction: the row, and the signed change appended to the feed, or neither.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from hub.errors import HubError
from hub.feed import feed
from hub.program import owner
from hub.program.models import Program, Staff
from hub.program.pins import PIN, check_pin, hash_pin, is_trivial
from hub.program.rules import Limits, program_problem

# A program superseded less than this long ago still decides entries: kiosks that have not
# pulled its successor yet go on earning by it.
GRACE = timedelta(days=7)
# A pulled change may make cashiers and managers only (docs/sync-protocol.md, "Roles"): a
# technician is made at the kiosk, by someone in front of it. The hub refuses the rest too.
STAFF_ROLES = ("cashier", "manager")
_STAFF_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_CARD = re.compile(r"[0-9A-Fa-f]{4,32}")


@dataclass(frozen=True)
class Published:
    """A program version as published."""

    version: int
    data: dict[str, Any]
    published_at: datetime


def publish_program(data: dict[str, Any], now: datetime | None = None, by: str = "") -> Published:
    """Check, number, sign and publish a program; HubError (nothing written) if it is bad.

    `by`: who publishes it (a panel user's username; "" from the `hub` command).
    """
    body = {k: v for k, v in data.items() if k != "version"} if isinstance(data, dict) else data
    problem = program_problem(body)
    if problem is not None:
        raise HubError(f"not a program: {problem}")
    moment = now or timezone.now()
    signer = owner.signer()
    with transaction.atomic():
        # One publisher at a time: the row lock orders the versions.
        latest = Program.objects.select_for_update().order_by("-version").first()
        version = latest.version + 1 if latest is not None else 1
        signed = {**body, "version": version}
        try:
            signature = signer.sign("program", signed)
        except ValueError as exc:
            raise HubError(f"not a program: {exc}") from None
        if latest is not None:
            Program.objects.filter(superseded_at__isnull=True).update(superseded_at=moment)
        Program.objects.create(
            version=version, data=signed, signature=signature, published_at=moment, published_by=by
        )
        feed.append_signed("program", signed, signature)
    return Published(version, signed, moment)


def current() -> Program | None:
    """The program in force (the highest version), or None before set-up."""
    return Program.objects.filter(superseded_at__isnull=True).order_by("-version").first()


def in_force(now: datetime | None = None) -> list[Limits]:
    """The limits of every program an entry may follow now: the current one, and those
    superseded within the last 7 days (kiosks may not have pulled the newer one yet)."""
    moment = now or timezone.now()
    rows = Program.objects.filter(superseded_at__isnull=True) | Program.objects.filter(
        superseded_at__gt=moment - GRACE
    )
    return [Limits.of(p.data) for p in rows.order_by("-version")]


def put_staff(
    *,
    staff_id: str,
    name: str,
    role: str,
    pin: str | None,
    cards: list[str],
    disabled: bool,
    now: datetime | None = None,
    branch_id: int | None = None,
    by: str = "",
) -> dict[str, Any]:
    """Publish a staff member (new, or changed); HubError (nothing written) if it is bad.

    Without a new PIN, a known staff member keeps the hash last published. A new PIN that
    is trivial, or that another active staff member has, is refused: kiosks see only
    salted hashes and cannot tell two people's equal PINs apart, so it is done here.
    `branch_id` (the panel's; not signed) and `by` are kept beside the signed data.
    The signed data carries `signed_at`, when it was made: a kiosk refuses a change of
    that person not signed later than the one it applied (a replay, or the feed of a hub
    restored from an older dump read again), so it is a time and not a counter.
    """
    if not _STAFF_ID.fullmatch(staff_id):
        raise HubError("--staff-id must be 1 to 64 letters, digits, '.', '_' or '-'")
    if not name.strip() or len(name) > 80 or "\x00" in name:
        raise HubError("--name must be 1 to 80 characters")
    if role not in STAFF_ROLES:
        raise HubError(
            f"--role must be cashier or manager, not {role!r} (a technician is made at "
            "the kiosk itself; kiosks refuse it from the hub)"
        )
    bad = [c for c in cards if not _CARD.fullmatch(c)]
    if bad:
        raise HubError(f"--card {bad[0]!r} is not a card uid (4 to 32 hex digits)")
    moment = now or timezone.now()
    signer = owner.signer()
    if pin is not None:
        if not PIN.fullmatch(pin):
            raise HubError("the PIN must be 4 to 8 digits")
        if is_trivial(pin):
            raise HubError("the PIN is too easy to guess (like 1111 or 1234): choose another")
    with transaction.atomic():
        # Every staff row locked: two puts of one PIN at once cannot both pass the check.
        everyone = list(Staff.objects.select_for_update().all())
        known = next((s for s in everyone if s.staff_id == staff_id), None)
        if pin is None:
            if known is None:
                raise HubError(f"{staff_id} is new: give a PIN (--pin-stdin)")
            pin_hash = str(known.data["pin_hash"])
        else:
            others = [s for s in everyone if s.staff_id != staff_id and not s.data.get("disabled")]
            if any(check_pin(pin, str(s.data.get("pin_hash", ""))) for s in others):
                raise HubError("the PIN is taken by another active staff member: choose another")
            pin_hash = hash_pin(pin)
        data = {
            "staff_id": staff_id,
            "name": name.strip(),
            "role": role,
            "pin_hash": pin_hash,
            "cards": sorted({c.upper() for c in cards}),
            "disabled": disabled,
            "signed_at": _signed_at(moment, known),
        }
        signature = signer.sign("staff", data)
        kept: dict[str, Any] = {"data": data, "published_at": moment, "published_by": by}
        if branch_id is not None:
            kept["branch_id"] = branch_id
        Staff.objects.update_or_create(staff_id=staff_id, defaults=kept)
        feed.append_signed("staff", data, signature)
    return data


def _signed_at(moment: datetime, known: Staff | None) -> str:
    """A staff change's `signed_at`: `moment` in UTC with microseconds, and past the
    person's last one here, so that a clock set back (or two changes in one microsecond)
    never makes a kiosk refuse the newer change as `not_newer`. After a restore the last
    one here is older than what kiosks hold: only a clock that is right keeps the next
    change later than theirs (docs/hub.md, "Backups")."""
    signed = moment.astimezone(UTC)
    last = known.data.get("signed_at") if known is not None else None
    if isinstance(last, str):
        try:
            floor = datetime.fromisoformat(last.replace("Z", "+00:00")) + timedelta(microseconds=1)
        except ValueError:
            floor = signed
        signed = max(signed, floor)
    return signed.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
