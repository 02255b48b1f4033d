"""The four operations of docs/sync-protocol.md, version 1, as the hub serves them."""

from __future__ import annotations

from base64 import urlsafe_b64encode
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from hub.devices import enrollment, signatures
from hub.devices.models import Device
from hub.feed import epoch, feed
from hub.formats import is_int64, storable
from hub.insights import club_size
from hub.ledger.models import HighWater
from hub.ledger.push import MAX_BATCH
from hub.ledger.push import push as store_push
from hub.members import lookup
from hub.members.checks import member_problem
from hub.program import owner
from hub.protocol.checks import heartbeat_kept, heartbeat_problem
from hub.protocol.sources import source_address
from hub.protocol.wire import BadRequest, answer, error, json_object, operation

MAX_PAGE = 1000
DEFAULT_PAGE = 500
_MAX_DEVICE_ID = 200


@operation("POST", signed=False)
def enroll(request: HttpRequest, raw: bytes, _device: Device | None) -> HttpResponse:
    """Trade a one-time code for the device's secret."""
    body = json_object(request, raw)
    code, device_id = body.get("code"), body.get("device_id")
    if not isinstance(code, str) or not isinstance(device_id, str) or not device_id:
        return error(400, "bad_request", "Send a code and a device id.")
    if len(device_id) > _MAX_DEVICE_ID or not storable(device_id) or not storable(code):
        return error(400, "bad_request", "The device id is not valid.")
    source = source_address(request.META, settings.HUB_TRUSTED_PROXIES)
    secret = enrollment.attempt(code, device_id, source)
    if isinstance(secret, enrollment.Limited):
        limited = error(
            429, "rate_limited", "Too many refused codes from here: wait, then try again."
        )
        limited["Retry-After"] = str(secret.retry_after)
        return limited
    if isinstance(secret, enrollment.Refused):
        extra = {"reason": secret.reason} if secret.reason else {}
        return error(secret.status, secret.code, secret.message, **extra)
    chain = owner.public()  # made by hub migrate; none only on a database never set up
    keys = {"owner_key": chain.public_key, "chain_id": chain.chain_id} if chain else {}
    return answer(
        201,
        {
            "device_id": device_id,
            "secret": urlsafe_b64encode(secret).decode(),
            "server_time": _now(),
        }
        | keys,
    )


@operation("POST")
def push(request: HttpRequest, raw: bytes, device: Device | None) -> HttpResponse:
    """Take a batch of the device's entries and changed members."""
    assert device is not None
    body = json_object(request, raw)
    entries, members = body.get("entries"), body.get("members")
    if body.get("device_id") != device.device_id:
        raise BadRequest("device_id differs from the signing device")
    if not isinstance(entries, list) or not isinstance(members, list):
        raise BadRequest("members and entries must be arrays")
    if len(entries) > MAX_BATCH:
        return error(413, "batch_too_large", f"At most {MAX_BATCH} entries in a batch.")
    for record in members:
        problem = member_problem(record)
        if problem is not None:
            raise BadRequest(f"a member record: {problem}")
    result = store_push(device, members, entries, body.get("chain_head"))
    signatures.seen(device)
    return answer(200, result.answer())


@operation("GET")
def changes(request: HttpRequest, raw: bytes, device: Device | None) -> HttpResponse:
    """A page of the change feed after a cursor."""
    # parse_qs as the simulator reads it: a blank value is as good as missing.
    query = parse_qs(request.META.get("QUERY_STRING", ""))
    cursor = _number(query.get("cursor", ["0"])[0])
    limit = _number(query.get("limit", [str(DEFAULT_PAGE)])[0])
    if cursor is None or limit is None or limit < 1 or not is_int64(cursor):
        raise BadRequest("cursor must be 0 or more and limit 1 or more")
    assert device is not None
    page = feed.page(cursor, min(limit, MAX_PAGE), branch_id=device.branch_id)
    # Which numbering the cursors belong to: a restored database hands them out again, and
    # a kiosk hearing another epoch reads the feed again from 0 (hub/feed/epoch.py).
    return answer(
        200,
        {
            "changes": page.changes,
            "next_cursor": page.next_cursor,
            "more": page.more,
            "epoch": epoch.current(),
        },
    )


@operation("GET")
def members(request: HttpRequest, raw: bytes, device: Device | None) -> HttpResponse:
    """A member by phone or card, and their balance (sync-protocol.md, "Looking a member up")."""
    assert device is not None
    try:
        by, value = lookup.query_of(request.META.get("QUERY_STRING", ""))
    except ValueError as exc:
        raise BadRequest(str(exc)) from exc
    found = lookup.lookup(device, by, value)
    if isinstance(found, lookup.Limited):
        refused = error(429, "rate_limited", "Too many lookups from this device; wait.")
        refused["Retry-After"] = str(found.retry_after)
        return refused
    if isinstance(found, lookup.Missing):
        return error(404, found.code, found.message)
    return answer(200, {"member": found.member, "balance": found.balance})


@operation("POST")
def heartbeat(request: HttpRequest, raw: bytes, device: Device | None) -> HttpResponse:
    """Keep how the kiosk is doing."""
    assert device is not None
    status: Any = json_object(request, raw)
    problem = heartbeat_problem(status)
    if problem is not None:
        raise BadRequest(problem)
    Device.objects.filter(pk=device.pk).update(
        last_heartbeat=heartbeat_kept(status), last_seen_at=timezone.now()
    )
    # The chain's size for the attract screen, while the program shows it (club_size.py).
    members = {"members": club_size.chain_members()} if club_size.shown() else {}
    # The device's mark, as a push answers it: a kiosk with nothing to push learns from it
    # that the hub lost entries it had acknowledged (restored from a backup) and sends them
    # again (docs/hub.md, "Backups"). Read without the push's lock: a mark a push is moving
    # just now is only ever higher, which the kiosk takes for nothing.
    mark = HighWater.objects.filter(device_id=device.pk).values_list("high_water", flat=True)
    return answer(200, {"server_time": _now(), "high_water": int(mark.first() or 0)} | members)


def _number(text: str) -> int | None:
    """A query parameter's non-negative integer, or None (ASCII digits only)."""
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 20 else None


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
