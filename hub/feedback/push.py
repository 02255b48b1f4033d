"""The hub's checks of pushed visit ratings (docs/sync-protocol.md, "Feedback").

A rating is of an earn entry this hub holds from the very device that pushes it: a device
cannot rate another branch's (or another kiosk's) visits, nor a visit it never recorded.
A rating is 1..5 and reasons come from `REASONS`: a row with anything else (a free text, a
name, a phone) is refused as a whole request, so nothing a person typed is ever stored.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import transaction

from hub.devices.models import Device
from hub.feedback.models import REASONS, VisitRating
from hub.ledger.models import Entry

MAX_ROWS = 500
_FIELDS = {"entry_id", "rating", "reasons", "rated_at", "version"}


class BadFeedback(ValueError):
    """The body is not what the protocol says (400 bad_request)."""


@dataclass(frozen=True)
class Taken:
    """What the hub did with a push: rows stored (or updated) and rows refused."""

    stored: int
    refused: list[dict[str, str]]


def rows_of(body: dict[str, Any]) -> list[dict[str, Any]]:
    """The rows of a feedback push, checked field by field; raises BadFeedback."""
    rows = body.get("feedback")
    if not isinstance(rows, list) or not 1 <= len(rows) <= MAX_ROWS:
        raise BadFeedback(f"feedback must be a list of 1 to {MAX_ROWS} ratings")
    for row in rows:
        problem = _row_problem(row)
        if problem:
            raise BadFeedback(problem)
    return rows


def _row_problem(row: object) -> str | None:
    if not isinstance(row, dict) or set(row) != _FIELDS:
        return f"a rating has exactly the fields {', '.join(sorted(_FIELDS))}"
    if not isinstance(row["entry_id"], str) or not 1 <= len(row["entry_id"]) <= 64:
        return "entry_id must be an entry's id"
    if type(row["rating"]) is not int or not 1 <= row["rating"] <= 5:
        return "rating must be a whole number from 1 to 5"
    reasons = row["reasons"]
    if not isinstance(reasons, list) or not all(r in REASONS for r in reasons):
        return f"reasons must be a list of names from: {', '.join(REASONS)}"
    if len(set(reasons)) != len(reasons):
        return "a reason is named once"
    if type(row["version"]) is not int or not 1 <= row["version"] <= 1_000_000:
        return "version must be a whole number from 1"
    try:
        moment = datetime.fromisoformat(str(row["rated_at"]).replace("Z", "+00:00"))
    except ValueError:
        return "rated_at must be an ISO 8601 time"
    if moment.tzinfo is None:
        return "rated_at must have a time zone (Z)"
    return None


def take(device: Device, rows: list[dict[str, Any]]) -> Taken:
    """Store each rating of an earn entry of this device; refuse the others, by code."""
    stored = 0
    refused: list[dict[str, str]] = []
    with transaction.atomic():
        for row in rows:
            entry = (
                Entry.objects.filter(entry_id=row["entry_id"], status="stored", kind="earn")
                .select_related("device")
                .first()
            )
            if entry is None:
                refused.append(_refusal(row, "unknown_entry", "No earn entry with this id."))
                continue
            if entry.device_id != device.pk:
                refused.append(
                    _refusal(row, "not_this_device", "This visit was recorded by another kiosk.")
                )
                continue
            reasons = ",".join(r for r in REASONS if r in row["reasons"])
            rated_at = datetime.fromisoformat(row["rated_at"].replace("Z", "+00:00"))
            held = VisitRating.objects.select_for_update().filter(entry=entry).first()
            if held is None:
                VisitRating.objects.create(
                    entry=entry,
                    device=device,
                    branch_id=device.branch_id,
                    rating=row["rating"],
                    reasons=reasons,
                    rated_at=rated_at,
                    version=row["version"],
                )
            elif row["version"] > held.version:
                # The rating is given once; later versions only change the reasons.
                held.reasons, held.version = reasons, row["version"]
                held.save(update_fields=("reasons", "version"))
            stored += 1
    return Taken(stored=stored, refused=refused)


def _refusal(row: dict[str, Any], code: str, message: str) -> dict[str, str]:
    return {"entry_id": str(row["entry_id"]), "code": code, "message": message}
