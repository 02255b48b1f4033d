"""What is typed in the panel's search box, read every way it may be meant.

No database here (the tests read queries without one): hub/members/search.py runs them.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from hub.members.phones import phone_candidates

LEAST_NAME = 3  # letters: pg_trgm's trigrams need three to narrow a contains-match
_CARD = re.compile(r"[0-9A-F]{4,32}")
_CARD_SEPARATORS = re.compile(r"[\s:\-]")


@dataclass(frozen=True)
class Query:
    """What the typed text may mean: phones, a card uid, a name pattern, a member id."""

    phones: list[str]
    card: str | None
    name: str | None
    member_id: str

    @property
    def kinds(self) -> list[str]:
        """The readings tried, for the audit log (never the text itself)."""
        return [
            kind
            for kind, given in (
                ("phone", self.phones),
                ("card", self.card),
                ("name", self.name),
                ("id", self.member_id),
            )
            if given
        ]


def read_query(text: str) -> Query:
    """Every reading of what was typed in the search box."""
    text = text.strip()[:200]
    card = _CARD_SEPARATORS.sub("", _ascii_digits(text)).upper()
    letters = sum(1 for c in text if c.isalpha())
    return Query(
        phones=phone_candidates(text),
        card=card if _CARD.fullmatch(card) else None,
        name=text if letters >= LEAST_NAME else None,
        member_id=text if text and len(text) <= 100 else "",
    )


def _ascii_digits(text: str) -> str:
    """Persian, Arabic-Indic (any Unicode decimal) digits as ASCII ones: a card's digits
    may be typed on a Persian keyboard too."""
    return "".join(str(unicodedata.decimal(c)) if c.isdecimal() else c for c in text)
