"""Staff for the panel: cashiers and managers by branch, PIN resets, staff cards, disabling.

Every change is published with `hub.program.publish.put_staff`, as `hub staff put` does:
signed with the owner's key and sent to every kiosk at its next pull, PINs checked there
(not trivial, not another active person's) and hashed as the kiosk hashes them. What the
panel adds: the branch each person works at (kept beside the signed data), who changed
them, and refusals said in Persian and English.

Technicians are not made here: a kiosk refuses a technician from the hub (the role that
imports, erases and provisions is made at the kiosk by someone in front of it).
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from hub.devices.models import Branch
from hub.errors import HubError
from hub.program import publish
from hub.program.models import Staff
from hub.program.pins import PIN, is_trivial
from hub.program.wording import Problem, Text, ascii_digits

ROLES = {
    "cashier": Text("صندوق‌دار", "Cashier"),
    "manager": Text("مدیر شعبه", "Manager"),
}
_CARD = re.compile(r"[0-9A-Fa-f]{4,32}")

BranchIds = Collection[int] | None  # None: every branch


@dataclass(frozen=True)
class StaffRow:
    """A staff member as the panel lists them (never their PIN's hash)."""

    staff_id: str
    name: str
    role: str
    branch_id: int | None
    branch: str
    cards: tuple[str, ...]
    disabled: bool
    published_at: datetime
    published_by: str

    @property
    def role_name(self) -> Text:
        """The role in words."""
        return ROLES.get(self.role, Text(self.role, self.role))


def listing(allowed: BranchIds) -> list[StaffRow]:
    """The staff one may see: a manager their branch's, the owner everyone."""
    rows = Staff.objects.select_related("branch").order_by("branch_id", "staff_id")
    if allowed is not None:
        rows = rows.filter(branch_id__in=list(allowed))
    return [_row(s) for s in rows]


def one(staff_id: str, allowed: BranchIds) -> StaffRow:
    """One staff member one may see; Problem if there is none."""
    return _row(_staff(staff_id, allowed))


def put(
    *,
    staff_id: str,
    name: str,
    role: str,
    branch_id: int,
    cards: list[str],
    disabled: bool,
    pin: str | None,
    allowed: BranchIds,
    by: str,
) -> StaffRow:
    """Add a staff member (a PIN needed; an id made if none given) or change one."""
    staff_id = staff_id.strip() or f"s-{secrets.token_hex(4)}"
    known = Staff.objects.filter(staff_id=staff_id).first()
    if known is not None:
        _staff(staff_id, allowed)  # another branch's person is not one to change
    if allowed is not None and branch_id not in allowed:
        raise Problem(Text("چنین شعبه‌ای نیست.", "No such branch."))
    if not Branch.objects.filter(pk=branch_id).exists():
        raise Problem(Text("شعبه را انتخاب کنید.", "Choose the branch."))
    if not name.strip() or len(name) > 80 or "\x00" in name:
        raise Problem(Text("نام را بنویسید (تا ۸۰ نویسه).", "Give a name (up to 80 characters)."))
    if role not in ROLES:
        raise Problem(
            Text(
                "نقش صندوق‌دار یا مدیر است (تکنسین روی خود دستگاه ساخته می‌شود).",
                "The role is cashier or manager (a technician is made at the kiosk itself).",
            )
        )
    uids = [c.strip().upper() for c in cards if c.strip()]
    if any(not _CARD.fullmatch(c) for c in uids):
        raise Problem(
            Text(
                "شمارهٔ کارت ۴ تا ۳۲ رقم شانزده‌شانزدهی است (مانند 5A5A5A5A).",
                "A card id is 4 to 32 hex digits (like 5A5A5A5A).",
            )
        )
    if known is None and pin is None:
        raise Problem(Text("برای نفر تازه رمز بگذارید.", "Give a new person a PIN."))
    return _publish(
        staff_id=staff_id,
        name=name.strip(),
        role=role,
        pin=_checked_pin(pin),
        cards=uids,
        disabled=disabled,
        branch_id=branch_id,
        by=by,
    )


def reset_pin(staff_id: str, pin: str, allowed: BranchIds, by: str) -> StaffRow:
    """A new PIN for a staff member; the rest as last published."""
    known = _staff(staff_id, allowed)
    return _republish(known, by, pin=_checked_pin(pin))


def set_disabled(staff_id: str, disabled: bool, allowed: BranchIds, by: str) -> StaffRow:
    """Disable a staff member (no sign-in at any kiosk after its pull), or enable them."""
    known = _staff(staff_id, allowed)
    return _republish(known, by, disabled=disabled)


def _republish(known: Staff, by: str, **changes: Any) -> StaffRow:
    data = known.data
    fields: dict[str, Any] = {
        "staff_id": known.staff_id,
        "name": str(data["name"]),
        "role": str(data["role"]),
        "pin": None,
        "cards": list(data.get("cards") or []),
        "disabled": bool(data.get("disabled")),
        "branch_id": known.branch_id,
        "by": by,
    }
    return _publish(**(fields | changes))


def _publish(**fields: Any) -> StaffRow:
    try:
        publish.put_staff(**fields)
    except HubError as exc:
        if "taken by another" in str(exc):
            raise Problem(
                Text(
                    "این رمز را فرد فعال دیگری دارد: رمز دیگری بگذارید.",
                    "Another active person has this PIN: choose another.",
                )
            ) from None
        raise Problem(Text(f"پذیرفته نشد: {exc}", f"Refused: {exc}")) from None
    return _row(Staff.objects.select_related("branch").get(staff_id=fields["staff_id"]))


def _checked_pin(pin: str | None) -> str | None:
    if pin is None:
        return None
    pin = ascii_digits(pin)
    if not PIN.fullmatch(pin):
        raise Problem(Text("رمز ۴ تا ۸ رقم است.", "A PIN is 4 to 8 digits."))
    if is_trivial(pin):
        raise Problem(
            Text(
                "این رمز آسان حدس زده می‌شود (مانند ۱۱۱۱ یا ۱۲۳۴).",
                "This PIN is too easy to guess (like 1111 or 1234).",
            )
        )
    return pin


def _staff(staff_id: str, allowed: BranchIds) -> Staff:
    # Another branch's person reads as missing: a manager learns nothing of them.
    known = Staff.objects.select_related("branch").filter(staff_id=staff_id).first()
    if known is None or (allowed is not None and known.branch_id not in allowed):
        raise Problem(Text("چنین کسی نیست.", "No such staff member."))
    return known


def _row(staff: Staff) -> StaffRow:
    data = staff.data
    return StaffRow(
        staff_id=staff.staff_id,
        name=str(data["name"]),
        role=str(data["role"]),
        branch_id=staff.branch_id,
        branch=staff.branch.name if staff.branch is not None else "",
        cards=tuple(data.get("cards") or ()),
        disabled=bool(data.get("disabled")),
        published_at=staff.published_at,
        published_by=staff.published_by,
    )
