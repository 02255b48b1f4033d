"""What a part of the campaign reports."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

Scale = Literal["short", "full"]


@dataclass
class Report:
    """One part's outcome: its figures, whether it held, and the log files it wrote."""

    name: str
    figures: dict[str, int | float | str] = field(default_factory=dict)
    ok: bool = True
    problems: list[str] = field(default_factory=list)  # what broke (empty when ok)
    logs: list[Path] = field(default_factory=list)  # every process's stderr/log, scanned after
    seconds: float = 0.0

    def fail(self, problem: str) -> None:
        self.ok = False
        self.problems.append(problem)
