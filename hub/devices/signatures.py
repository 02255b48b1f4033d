"""Checking a signed request (docs/sync-protocol.md, "Signing every other request").

The signature itself is the kiosk's own code (`sync/signing.py`); this adds what a server
with many processes needs: the device and its secret from PostgreSQL, and the nonces kept
there, so that a replay is refused by whichever process receives it, after a restart too.
The checks go in the simulated CRM's order, so that both refuse a request with one code.
"""

from __future__ import annotations

import hmac
import re
import time
from collections.abc import Callable, Mapping

from django.db import connection, transaction
from django.utils import timezone

from hub.devices.models import Device, RequestNonce
from hub.formats import storable
from sync.signing import (
    DEVICE,
    NONCE,
    NONCE_MEMORY_SECONDS,
    SIGNATURE,
    TIMESTAMP,
    WINDOW_SECONDS,
    Refusal,
    signature,
)

_STAMP = re.compile(r"[0-9]{1,12}")  # ASCII digits only: int() takes '²' and '٣' too
_NONCE = re.compile(r"[0-9a-fA-F]{32}")
_NONCES = RequestNonce._meta.db_table


def authenticate(
    method: str,
    path: str,
    headers: Mapping[str, str],
    body: bytes,
    clock: Callable[[], float] = time.time,
) -> Device | Refusal:
    """The enrolled device that signed this request, or why it is refused."""
    device_id = headers.get(DEVICE, "")
    stamp = headers.get(TIMESTAMP, "")
    nonce = headers.get(NONCE, "")
    given = headers.get(SIGNATURE, "")
    device = None
    if device_id and storable(device_id):
        device = Device.objects.filter(device_id=device_id, secret__isnull=False).first()
    if device is None or device.secret is None:
        return Refusal(401, "unknown_device", "This device is not enrolled.")
    if not (_STAMP.fullmatch(stamp) and _NONCE.fullmatch(nonce) and given.startswith("v1=")):
        return Refusal(401, "bad_signature", "The request is not signed.")
    expected = signature(bytes(device.secret), method, path, stamp, nonce, body)
    if not hmac.compare_digest(expected, given):
        return Refusal(401, "bad_signature", "The signature does not match.")
    if device.revoked_at is not None:
        return Refusal(403, "device_revoked", "This device's credentials were revoked.")
    if abs(clock() - int(stamp)) > WINDOW_SECONDS:
        return Refusal(401, "signature_expired", "The request's time is too far off.")
    if not _first_use(device, nonce):
        return Refusal(401, "replayed", "This request was already received.")
    return device


def _first_use(device: Device, nonce: str) -> bool:
    """Record the nonce; False if this device used it within NONCE_MEMORY_SECONDS.

    One statement, so two processes receiving the same request at once cannot both win:
    the unique index lets one insert and makes the other see its row. The device's
    forgotten nonces are deleted in the same statement: one round trip and one commit (a
    commit waits for the disk, and a hold at a counter should wait for it once).
    """
    with transaction.atomic(), connection.cursor() as cursor:
        # Not waiting for the disk: a nonce lost in a crash lets that one request be
        # replayed within its 300 s, and every signed request of the protocol has the
        # same effect twice as once (pushes, holds, pulls, heartbeats, lookups).
        cursor.execute("SET LOCAL synchronous_commit TO off")
        cursor.execute(
            f"WITH forgotten AS (DELETE FROM {_NONCES} WHERE device_id = %s "
            "AND seen_at < now() - make_interval(secs => %s)) "
            f"INSERT INTO {_NONCES} (device_id, nonce, seen_at) VALUES (%s, %s, now()) "
            "ON CONFLICT (device_id, nonce) DO UPDATE SET seen_at = excluded.seen_at "
            f"WHERE {_NONCES}.seen_at < now() - make_interval(secs => %s) RETURNING 1",
            [device.pk, NONCE_MEMORY_SECONDS, device.pk, nonce, NONCE_MEMORY_SECONDS],
        )
        return cursor.fetchone() is not None


SEEN_PRECISION_SECONDS = 30


def seen(device: Device) -> None:
    """Note that the device was heard from, to within SEEN_PRECISION_SECONDS.

    A write, and so a commit waiting for the disk, at most twice a minute a device rather
    than after every request (`hub device list` shows minutes).
    """
    last = device.last_seen_at
    now = timezone.now()
    if last is None or (now - last).total_seconds() >= SEEN_PRECISION_SECONDS:
        Device.objects.filter(pk=device.pk).update(last_seen_at=now)
