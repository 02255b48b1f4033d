"""What changed between two program versions, field by field, for people to read.

Grouped as the owner thinks of a program: the earning rules, the tiers, the rewards, the
limits, the offline allowance. Tiers and rewards are matched by their id, so a renamed
reward reads as a change of its name, not as one removed and another added. Pure.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hub.program.rules import VERIFICATION, verification_of
from hub.program.wording import Text

SECTIONS: dict[str, Text] = {
    "rules": Text("قاعده‌های امتیاز", "Earning rules"),
    "tiers": Text("سطح‌ها", "Tiers"),
    "rewards": Text("جایزه‌ها", "Rewards"),
    "limits": Text("سقف‌ها", "Limits"),
    "offline": Text("اجازهٔ آفلاین", "Offline allowance"),
    "verification": Text("کد تأیید پیامکی", "Codes by SMS"),
}
# Each top-level number (and the mode) with its section and its name.
FIELDS: dict[str, tuple[str, Text]] = {
    "mode": ("rules", Text("نوع باشگاه", "Kind of club")),
    "points": ("rules", Text("امتیاز", "Points")),
    "per_amount": ("rules", Text("به ازای هر (ریال)", "Per amount (Rial)")),
    "enrollment_bonus": ("rules", Text("هدیهٔ عضویت", "Enrollment bonus")),
    "birthday_bonus": ("rules", Text("هدیهٔ تولد", "Birthday bonus")),
    "max_points_per_purchase": ("limits", Text("سقف امتیاز هر خرید", "Most points a purchase")),
    "max_amount": ("limits", Text("بیشترین مبلغ خرید (ریال)", "Largest purchase (Rial)")),
    "max_adjust_points": ("limits", Text("سقف اصلاح امتیاز", "Largest adjustment")),
    "max_opening_balance": ("limits", Text("سقف موجودی اولیه", "Largest opening balance")),
    "offline_redemption_allowance": (
        "offline",
        Text("امتیاز قابل خرج بدون اتصال", "Points spendable offline"),
    ),
    "verification.link_card": (
        "verification",
        Text("کد برای افزودن کارت به شمارهٔ عضو", "A code to link a card to a member's phone"),
    ),
    "verification.enroll": ("verification", Text("کد برای عضویت", "A code to enroll")),
}
ON_OFF = {True: Text("روشن", "on"), False: Text("خاموش", "off")}
ITEM_FIELDS: dict[str, Text] = {
    "name_fa": Text("نام فارسی", "Persian name"),
    "name_en": Text("نام انگلیسی", "English name"),
    "threshold": Text("آستانه", "Threshold"),
    "multiplier": Text("ضریب", "Multiplier"),
    "cost": Text("بها (امتیاز)", "Cost (points)"),
    "kind": Text("نوع", "Kind"),
    "value": Text("مقدار", "Value"),
    "active_from": Text("از تاریخ", "From"),
    "active_until": Text("تا تاریخ", "Until"),
}
_ORDER = tuple(SECTIONS)


@dataclass(frozen=True)
class Difference:
    """One change: `item` is a tier's or reward's id ("" for a top-level number)."""

    section: str
    item: str
    field: str  # "" when a whole tier or reward was added or removed
    kind: str  # changed, added, removed
    before: Any
    after: Any
    # The tier's or reward's name, as the owner reads it (its id means nothing to them).
    item_name: Text | None = None

    @property
    def section_name(self) -> Text:
        """The section's name."""
        return SECTIONS[self.section]

    @property
    def field_name(self) -> Text:
        """The field's name (empty for a whole item)."""
        if self.item:
            return ITEM_FIELDS.get(self.field, Text(self.field, self.field))
        return FIELDS[self.field][1] if self.field in FIELDS else Text(self.field, self.field)


def diff(before: dict[str, Any], after: dict[str, Any]) -> list[Difference]:
    """Every difference from `before` to `after` (two programs' data), in section order."""
    found: list[Difference] = []
    skipped = {"version", "tiers", "rewards", "verification"}
    for name in sorted(set(FIELDS) | set(before) | set(after)):
        if name in skipped or name.startswith("verification."):
            continue
        old, new = before.get(name), after.get(name)
        if old != new:
            section = FIELDS[name][0] if name in FIELDS else "rules"
            found.append(Difference(section, "", name, "changed", old, new))
    # A program that says nothing asks as the default does: no change to list.
    was, now = verification_of(before), verification_of(after)
    for name in VERIFICATION:
        if was[name] != now[name]:
            field = f"verification.{name}"
            old_on, new_on = ON_OFF[was[name]], ON_OFF[now[name]]
            found.append(Difference("verification", "", field, "changed", old_on, new_on))
    for section in ("tiers", "rewards"):
        found += _items(section, before.get(section) or [], after.get(section) or [])
    return sorted(found, key=lambda d: _ORDER.index(d.section))  # stable: keeps item order


def _items(section: str, before: list[Any], after: list[Any]) -> list[Difference]:
    old = {str(i["id"]): i for i in before if isinstance(i, dict)}
    new = {str(i["id"]): i for i in after if isinstance(i, dict)}
    found: list[Difference] = []
    for ident, item in old.items():
        if ident not in new:
            found.append(Difference(section, ident, "", "removed", item, None, _name(item)))
    for ident, item in new.items():
        if ident not in old:
            found.append(Difference(section, ident, "", "added", None, item, _name(item)))
            continue
        for name in sorted(set(old[ident]) | set(item)):
            was, now = _shown(old[ident].get(name)), _shown(item.get(name))
            if name != "id" and was != now:
                found.append(Difference(section, ident, name, "changed", was, now, _name(item)))
    return found


def _name(item: dict[str, Any]) -> Text:
    """A tier's or reward's name in both languages (either falling back to the other)."""
    fa, en = str(item.get("name_fa") or ""), str(item.get("name_en") or "")
    ident = str(item.get("id", ""))
    return Text(fa or en or ident, en or fa or ident)


def _shown(value: Any) -> Any:
    return "" if value is None else value  # a missing name or date reads as empty
