"""Bar charts drawn on the server as inline SVG: no script, no library, nothing fetched.

A bar chart is all the reports need (an amount per day, members per tier or segment), and
it is a few rectangles whose lengths are the values over the largest: drawn here, it works
on a closed network and under the panel's Content-Security-Policy (no script), prints, and
reads the same in Persian and English (the template mirrors it for right-to-left).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Bar:
    """One bar: its label, its value, and its length as a share (0-100) of the longest."""

    label: object  # a name, or a day (the template formats it)
    value: int
    percent: float

    @property
    def rest(self) -> float:
        """What is left of the full length: where a bar starts when drawn right to left."""
        return round(100 - self.percent, 2)


def bars(items: Iterable[tuple[object, int]]) -> tuple[Bar, ...]:
    """Bars for (label, value) pairs, the largest value the full length; negatives as 0."""
    pairs = list(items)
    top = max((v for _, v in pairs), default=0)
    return tuple(
        Bar(label, value, round(100 * max(value, 0) / top, 2) if top > 0 else 0.0)
        for label, value in pairs
    )
