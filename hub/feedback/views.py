"""POST /v2/feedback: a kiosk's visit ratings (docs/sync-protocol.md, "Feedback")."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse

from hub.devices import signatures
from hub.devices.models import Device
from hub.feedback.push import BadFeedback, rows_of, take
from hub.protocol.wire import BadRequest, answer, json_object, operation


@operation("POST")
def push(request: HttpRequest, raw: bytes, device: Device | None) -> HttpResponse:
    """Store the ratings of this device's visits; say which were refused and why."""
    assert device is not None
    body = json_object(request, raw)
    if body.get("device_id") != device.device_id:
        raise BadRequest("device_id must be the signing device's")
    try:
        rows = rows_of(body)
    except BadFeedback as exc:
        raise BadRequest(str(exc)) from exc
    taken = take(device, rows)
    signatures.seen(device)
    return answer(200, {"stored": taken.stored, "refused": taken.refused})
