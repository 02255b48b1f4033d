"""The storage key of docs/sync-protocol.md ("The storage key"), as the hub serves it."""

from __future__ import annotations

from base64 import urlsafe_b64encode

from django.http import HttpRequest, HttpResponse

from hub.devices import signatures, storage_keys
from hub.devices.models import Device
from hub.protocol.wire import answer, operation


@operation("GET")
def storage_key(request: HttpRequest, raw: bytes, device: Device | None) -> HttpResponse:
    """The signing device's own storage key (a revoked one is refused before this)."""
    assert device is not None
    key = storage_keys.key_for(device)
    signatures.seen(device)
    response = answer(200, {"key": urlsafe_b64encode(key).decode()})
    response["Cache-Control"] = "no-store"
    return response
