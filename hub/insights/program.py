"""What the figures read of the program in force: tiers, rewards' names, a point's value."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hub.program.models import Program
from hub.program.rules import default_program


@dataclass(frozen=True)
class Tier:
    """A tier of the program: its id, names and the points earned in the window it needs."""

    id: str
    name_fa: str
    name_en: str
    threshold: int


def current_program() -> dict[str, Any]:
    """The data of the newest published version, or the default program before any."""
    newest = Program.objects.order_by("-version").first()
    return dict(newest.data) if newest is not None else default_program()


def tiers_of(data: dict[str, Any]) -> list[Tier]:
    """The program's tiers, lowest threshold first."""
    tiers = [
        Tier(
            id=str(t["id"]),
            name_fa=str(t.get("name_fa") or t["id"]),
            name_en=str(t.get("name_en") or t["id"]),
            threshold=int(t["threshold"]),
        )
        for t in data.get("tiers", [])
    ]
    return sorted(tiers, key=lambda t: t.threshold)


def reward_names(data: dict[str, Any]) -> dict[str, tuple[str, str]]:
    """Reward id -> (Persian name, English name), for the rewards of this program."""
    return {
        str(r["id"]): (str(r.get("name_fa") or r["id"]), str(r.get("name_en") or r["id"]))
        for r in data.get("rewards", [])
    }


def point_value(data: dict[str, Any]) -> tuple[int, int] | None:
    """What a point is worth in Rial, as (rial, points), or None if the program cannot say.

    A program's own `point_value` (Rial per point) if it has one; otherwise the best rate
    of its fixed discounts (a reward's value in Rial over its cost in points): the most the
    outstanding points could cost the chain. Percent discounts and free items have no
    fixed value in money, so they say nothing.
    """
    own = data.get("point_value")
    if type(own) is int and own >= 0:
        return (own, 1)
    best: tuple[int, int] | None = None
    for reward in data.get("rewards", []):
        cost, value = int(reward.get("cost", 0)), int(reward.get("value", 0))
        if reward.get("kind") != "fixed_discount" or cost <= 0:
            continue
        if best is None or value * best[1] > best[0] * cost:
            best = (value, cost)
    return best


def value_of(points: int, rate: tuple[int, int] | None) -> int | None:
    """`points` in Rial at `rate` (rounded down), or None without a rate."""
    if rate is None:
        return None
    rial, per = rate
    return points * rial // per
