"""What a (draft) program earns: "a 1,250,000 Toman purchase earns ..." for each tier.

Computed with the hub's own earning rule, `hub.program.rules.tier_points` (the one the hub
judges pushed entries by), which tests/hub/test_program_versions.py checks against the
kiosk's quote (`kiosk.core.program.points_for_purchase`) over a table of amounts and tiers:
the owner sees what a kiosk will say before publishing. Pure: no database, no request.

Two things are the kiosk's own and not the program's: its smallest purchase that earns
(`program.min_purchase` in its config), and in stamps mode the stamps a visit earns. The
preview says so rather than guessing them.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from hub.program.rules import tier_points
from hub.program.wording import Problem, Text, ascii_digits

# The units an amount is typed and shown in; the ledger keeps Rial (a Toman is 10 Rial).
RIAL_PER_UNIT = {"rial": 1, "toman": 10}
UNIT_NAMES = {"rial": Text("ریال", "Rial"), "toman": Text("تومان", "Toman")}


@dataclass(frozen=True)
class TierEarning:
    """What one tier's member earns for the purchase."""

    tier_id: str
    name: Text
    threshold: int
    multiplier: str
    points: int  # after the cap
    uncapped: int  # before it (the same when the cap did not bite)

    @property
    def capped(self) -> bool:
        """Whether the cap per purchase cut the points."""
        return self.points < self.uncapped


@dataclass(frozen=True)
class Preview:
    """A purchase's points under a program, for each tier (empty in stamps mode)."""

    amount: int  # Rial
    mode: str
    tiers: tuple[TierEarning, ...]
    above_max_amount: bool  # the kiosks refuse a purchase this large
    cap: int  # 0: none

    @property
    def stamps(self) -> bool:
        """A stamp card: each purchase earns the kiosk's stamps per visit, not by amount."""
        return self.mode == "stamps"


def preview(data: dict[str, Any], amount: int) -> Preview:
    """The points a purchase of `amount` Rial earns at each tier of a checked program."""
    cap = int(data["max_points_per_purchase"])
    rows: list[TierEarning] = []
    if data["mode"] != "stamps":
        for tier in data["tiers"]:
            multiplier = Decimal(str(tier["multiplier"]))
            uncapped = tier_points(amount, int(data["points"]), int(data["per_amount"]), multiplier)
            rows.append(
                TierEarning(
                    tier_id=str(tier["id"]),
                    name=Text(
                        str(tier.get("name_fa") or tier.get("name_en") or tier["id"]),
                        str(tier.get("name_en") or tier.get("name_fa") or tier["id"]),
                    ),
                    threshold=int(tier["threshold"]),
                    multiplier=str(tier["multiplier"]),
                    points=min(uncapped, cap) if cap else uncapped,
                    uncapped=uncapped,
                )
            )
    return Preview(
        amount=amount,
        mode=str(data["mode"]),
        tiers=tuple(rows),
        above_max_amount=amount > int(data["max_amount"]),
        cap=cap,
    )


class AmountProblem(Problem):
    """An amount that is not one: its message in both languages."""


def parse_amount(text: str, unit: str) -> int:
    """The Rial of an amount typed in `unit` ("1,250,000", "۱٬۲۵۰٬۰۰۰"); else AmountProblem."""
    digits = ascii_digits(text)
    if not digits:
        raise AmountProblem(Text("مبلغ خرید را بنویسید.", "Type the purchase's amount."))
    if not (digits.isascii() and digits.isdigit()) or len(digits) > 15:
        raise AmountProblem(
            Text(
                "مبلغ باید عددی درست و مثبت باشد، مانند ۱٬۲۵۰٬۰۰۰.",
                "The amount must be a whole number, like 1,250,000.",
            )
        )
    return int(digits) * RIAL_PER_UNIT[unit]
