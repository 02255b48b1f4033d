"""The read API (/api/v1/, docs/integration-openapi.yaml): members, balances, events, CSV.

Every request names a key (`Authorization: Bearer club_...`): a missing, wrong or revoked
key is 401, a key without the operation's scope 403, a key over its rate 429 with
Retry-After. Only GET: nothing here changes the club. JSON, errors as the protocol's
(`{"error": {"code", "message"}}`).
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Callable, Iterator
from datetime import date, datetime
from functools import wraps
from typing import Any

from django.db.models import Q
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.views.decorators.csrf import csrf_exempt

from hub.integration import api_keys, feed
from hub.ledger.models import Balance, Entry
from hub.members.models import Member

MAX_PAGE = 500
DEFAULT_PAGE = 100
_MAX_ID = 200

Answer = HttpResponse | StreamingHttpResponse
View = Callable[..., Answer]


def _error(status: int, code: str, message: str) -> HttpResponse:
    answer = HttpResponse(
        json.dumps({"error": {"code": code, "message": message}}),
        status=status,
        content_type="application/json",
    )
    answer["Cache-Control"] = "no-store"
    return answer


def _json(data: object) -> HttpResponse:
    answer = HttpResponse(
        json.dumps(data, ensure_ascii=False, default=_plain), content_type="application/json"
    )
    answer["Cache-Control"] = "no-store"
    return answer


def _plain(value: object) -> str:
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(type(value).__name__)


def scoped(scope: str) -> Callable[[Callable[..., Answer]], View]:
    """A GET view that needs a key in force with `scope`, within its rate."""

    def decorate(view: Callable[..., Answer]) -> View:
        @csrf_exempt
        @wraps(view)
        def checked(request: HttpRequest, *args: Any, **kwargs: Any) -> Answer:
            if request.method != "GET":
                return _error(405, "method_not_allowed", "The read API answers GET only.")
            kind, _, presented = request.headers.get("Authorization", "").partition(" ")
            key = api_keys.check(presented.strip()) if kind.lower() == "bearer" else None
            if key is None:
                answer = _error(401, "credentials", "Send a key in force: Authorization: Bearer.")
                answer["WWW-Authenticate"] = 'Bearer realm="club"'
                return answer
            if scope not in key.scopes:
                return _error(403, "scope", f"This key does not have the {scope} scope.")
            wait = api_keys.take_token(key.id)
            if wait > 0:
                answer = _error(429, "rate_limited", "Too many requests for this key.")
                answer["Retry-After"] = str(max(1, math.ceil(wait)))
                return answer
            return view(request, *args, **kwargs)

        return checked

    return decorate


def _limit(request: HttpRequest) -> int | None:
    text = request.GET.get("limit", str(DEFAULT_PAGE))
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= MAX_PAGE:
        return None
    return int(text)


def _member(row: dict[str, Any]) -> dict[str, Any]:
    erased = row["status"] == "erased"
    return {
        "member_id": row["member_id"],
        "status": row["status"],
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
        "phone": None if erased else row["phone"],
        "name": None if erased else row["name"],
        "birthday": None if erased else row["birthday"],
        "language": None if erased else row["language"],
        "consent_marketing": False if erased else row["consent_marketing"],
        "merged_into": row["merged_into_id"],
        "balance": row["balance__balance"] or 0,
    }


_MEMBER_FIELDS = (
    "member_id",
    "status",
    "created_at",
    "updated_at",
    "phone",
    "name",
    "birthday",
    "language",
    "consent_marketing",
    "merged_into_id",
    "balance__balance",
)


@scoped("members:read")
def members(request: HttpRequest) -> HttpResponse:
    """Members in id order, a page after `after` (a member id)."""
    limit = _limit(request)
    if limit is None:
        return _error(400, "bad_request", f"limit is 1 to {MAX_PAGE}.")
    after = request.GET.get("after", "")[:_MAX_ID]
    rows = list(
        Member.objects.filter(member_id__gt=after)
        .order_by("member_id")
        .values(*_MEMBER_FIELDS)[: limit + 1]
    )
    page = [_member(r) for r in rows[:limit]]
    more = len(rows) > limit
    return _json({"members": page, "next": page[-1]["member_id"] if more else None})


@scoped("members:read")
def member(request: HttpRequest, member_id: str) -> HttpResponse:
    """One member by id."""
    row = Member.objects.filter(member_id=member_id[:_MAX_ID]).values(*_MEMBER_FIELDS).first()
    if row is None:
        return _error(404, "not_found", "No member with this id.")
    return _json(_member(row))


@scoped("balances:read")
def balances(request: HttpRequest) -> HttpResponse:
    """Balances in member id order, a page after `after`; `member_id` for one member's."""
    limit = _limit(request)
    if limit is None:
        return _error(400, "bad_request", f"limit is 1 to {MAX_PAGE}.")
    found = Balance.objects.order_by("member_id")
    one = request.GET.get("member_id")
    found = (
        found.filter(member_id=one[:_MAX_ID])
        if one is not None
        else found.filter(member_id__gt=request.GET.get("after", "")[:_MAX_ID])
    )
    rows = list(found.values("member_id", "balance", "updated_at")[: limit + 1])
    more = len(rows) > limit
    return _json({"balances": rows[:limit], "next": rows[limit - 1]["member_id"] if more else None})


@scoped("events:read")
def events(request: HttpRequest) -> HttpResponse:
    """Events after a cursor (`after`, from the last page's `next_cursor`; `0` at first);
    410 `cursor_expired` for a cursor given before a restore (hub/integration/feed.py)."""
    limit = _limit(request)
    now = feed.epoch()
    try:
        after = feed.parse_cursor(request.GET.get("after", feed.START), now)
    except feed.CursorExpired:
        return _error(
            410,
            "cursor_expired",
            "This cursor was given before the hub was restored to an earlier point (or its "
            "epoch reset): read the events again from the start, without a cursor (after=0), "
            "and drop those you hold by id.",
        )
    except ValueError:
        after = None
    if limit is None or after is None:
        return _error(
            400, "bad_request", f"after is a cursor given by this API; limit 1 to {MAX_PAGE}."
        )
    page = feed.page(after, limit, now)
    return _json({"events": page.events, "next_cursor": page.next_cursor, "more": page.more})


class _Echo:
    """A file that hands back what is written: csv.writer's row as a string (Django's docs)."""

    def write(self, value: str) -> str:
        return value


_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: object) -> object:
    """A text cell a spreadsheet would run as a formula gets an apostrophe (CSV injection);
    a phone (+ and digits) is left as it is."""
    phone = isinstance(value, str) and value.startswith("+") and value[1:].isdigit()
    if isinstance(value, str) and value.startswith(_FORMULA) and not phone:
        return "'" + value
    if isinstance(value, datetime | date):
        return _plain(value)
    return "" if value is None else value


def _csv(name: str, header: list[str], rows: Iterator[tuple[Any, ...]]) -> StreamingHttpResponse:
    writer = csv.writer(_Echo())

    def lines() -> Iterator[str]:
        yield writer.writerow(header)
        for row in rows:
            yield writer.writerow([_cell(v) for v in row])

    answer = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    answer["Content-Disposition"] = f'attachment; filename="{name}"'
    answer["Cache-Control"] = "no-store"
    return answer


# Each export's columns: (the CSV's header, the field read), one list so they keep in step.
_MEMBER_COLUMNS = (
    ("member_id", "member_id"),
    ("status", "status"),
    ("created_at", "created_at"),
    ("phone", "phone"),
    ("name", "name"),
    ("birthday", "birthday"),
    ("language", "language"),
    ("consent_marketing", "consent_marketing"),
    ("merged_into", "merged_into_id"),
    ("balance", "balance__balance"),
)
_ENTRY_COLUMNS = (
    ("entry_id", "entry_id"),
    ("member_id", "member_id"),
    ("kind", "kind"),
    ("points", "points"),
    ("amount", "amount"),
    ("currency", "currency"),
    ("reward_id", "reward_id"),
    ("reverses", "reverses"),
    ("created_at", "created_at"),
    ("received_at", "received_at"),
    ("device_id", "device__device_id"),
    ("branch", "device__branch__name"),
)


@scoped("exports:read")
def members_csv(request: HttpRequest) -> StreamingHttpResponse:
    """Every member as CSV (erased ones with their id and status only)."""
    rows = (
        Member.objects.order_by("member_id")
        .values_list(*(field for _, field in _MEMBER_COLUMNS))
        .iterator(2000)
    )
    return _csv("members.csv", [column for column, _ in _MEMBER_COLUMNS], rows)


@scoped("exports:read")
def entries_csv(request: HttpRequest) -> HttpResponse | StreamingHttpResponse:
    """Stored entries as CSV, oldest first; `since` (an ISO date) for a part."""
    since = request.GET.get("since")
    found = Entry.objects.filter(status="stored")
    if since is not None:
        try:
            found = found.filter(Q(received_at__date__gte=date.fromisoformat(since)))
        except ValueError:
            return _error(400, "bad_request", "since is a date: 2026-03-01.")
    rows = (
        found.order_by("received_at", "id")
        .values_list(*(field for _, field in _ENTRY_COLUMNS))
        .iterator(2000)
    )
    return _csv("entries.csv", [column for column, _ in _ENTRY_COLUMNS], rows)
