"""A problem with the configuration, and the error that lists them all at once."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One thing wrong: the key, what is wrong with it, and the layer it came from."""

    key: str
    message: str
    source: str

    def __str__(self) -> str:
        return f"  {self.key}: {self.message} (from {self.source})"


class ConfigError(Exception):
    """The configuration has problems; all of them are listed."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = tuple(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


def suggest(name: str, known: Iterable[str]) -> str:
    """ "; did you mean 'x'?" for the known name nearest to `name`, or "" when none is near."""
    close = difflib.get_close_matches(name, list(known), n=1, cutoff=0.6)
    return f"; did you mean '{close[0]}'?" if close else ""
