"""The storage keys the hub keeps for kiosks (the kiosk's `hub` key source, docs/security.md).

Each enrolled device has one, made at its first request: 32 random bytes that wrap the
kiosk's data key. The kiosk caches it in memory-backed /run; after a power cut it can
open its members' data only by asking again, so the key must be durable here before it
is handed out, and the hub's backups must hold it (docs/hub.md, "The storage key").
"""

from __future__ import annotations

import secrets

from django.db import transaction

from hub.devices.models import Device, StorageKey

KEY_BYTES = 32


def key_for(device: Device) -> bytes:
    """The device's storage key, made and committed (to the disk) on first use."""
    found = StorageKey.objects.filter(device=device).values_list("key", flat=True).first()
    if found is not None:
        return bytes(found)
    with transaction.atomic():
        # Two requests of one kiosk at once: the primary key lets one row in, and both
        # answer with that row. Committed with the server's synchronous_commit (on): a
        # key lost in a crash after the kiosk wrapped its data with it would be its data.
        StorageKey.objects.bulk_create(
            [StorageKey(device=device, key=secrets.token_bytes(KEY_BYTES))],
            ignore_conflicts=True,
        )
    return bytes(StorageKey.objects.values_list("key", flat=True).get(device=device))
