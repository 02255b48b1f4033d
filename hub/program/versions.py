"""The program's versions as the panel shows them: who published which, when, what changed.

Each version is compared with the one before it (hub/program/diff.py); any two can be
compared. A new version is published through `hub.program.publish.publish_program`, the
one path the `hub program publish` command takes too: checked, numbered, signed with the
owner's key and appended to the feed every kiosk pulls, in one transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from hub.errors import HubError
from hub.program import publish
from hub.program.diff import Difference, diff
from hub.program.models import Program

HISTORY_PAGE = 50  # versions listed at once; a chain publishes a few a month


@dataclass(frozen=True)
class Version:
    """One published version and what it changed from the one before it."""

    version: int
    published_at: datetime
    published_by: str
    superseded_at: datetime | None
    data: dict[str, Any]
    changes: list[Difference]

    @property
    def current(self) -> bool:
        """Whether this is the version in force."""
        return self.superseded_at is None


def history(limit: int = HISTORY_PAGE) -> list[Version]:
    """The latest versions, newest first, each with its changes from the one before."""
    rows = list(Program.objects.order_by("-version")[: limit + 1])
    found: list[Version] = []
    for row, older in zip(rows, [*rows[1:], None], strict=True):
        if len(found) == limit:
            break
        found.append(
            Version(
                version=row.version,
                published_at=row.published_at,
                published_by=row.published_by,
                superseded_at=row.superseded_at,
                data=row.data,
                changes=diff(older.data, row.data) if older is not None else [],
            )
        )
    return found


def data_of(version: int) -> dict[str, Any]:
    """A version's data; HubError if there is no such version."""
    row = Program.objects.filter(version=version).first()
    if row is None:
        raise HubError(f"no program version {version}")
    return dict(row.data)


def compare(older: int, newer: int) -> list[Difference]:
    """What changed from one version to another."""
    return diff(data_of(older), data_of(newer))


def current_data() -> dict[str, Any]:
    """The program in force, without its version (what an edit starts from)."""
    row = publish.current()
    if row is None:
        raise HubError("no program yet: run hub migrate first")
    return {k: v for k, v in row.data.items() if k != "version"}


def publish_draft(data: dict[str, Any], by: str) -> publish.Published:
    """Publish a checked draft as the next version, signed, to every kiosk; HubError if
    nothing changed (a version that changes nothing would only be noise in the history)."""
    if not diff(current_data(), data):
        raise HubError("nothing changed: the draft is the program in force")
    return publish.publish_program(data, by=by)
