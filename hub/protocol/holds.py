"""The holds of docs/sync-protocol.md ("Holds"): online redemption, as the hub serves it."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse

from hub.devices import signatures
from hub.devices.models import Device
from hub.ledger import holds
from hub.protocol.wire import BadRequest, answer, error, json_object, operation


@operation("POST")
def hold(request: HttpRequest, raw: bytes, device: Device | None) -> HttpResponse:
    """Set a member's points aside for one redemption of the device, or say why not."""
    assert device is not None
    body = json_object(request, raw)
    problem = holds.request_problem(body)
    if problem is not None:
        raise BadRequest(problem)
    result = holds.take(
        device, body["client_txn_id"], body["member_id"], body["points"], body.get("reward_id")
    )
    signatures.seen(device)
    if isinstance(result, holds.Refused):
        return error(409, result.code, result.message, **result.extra)
    return answer(result.status, result.body)


@operation("DELETE")
def release(request: HttpRequest, raw: bytes, device: Device | None) -> HttpResponse:
    """Let go of a hold the device could not finish."""
    assert device is not None
    match = request.resolver_match
    client_txn_id = str(match.kwargs["client_txn_id"]) if match is not None else ""
    if holds.request_problem({"client_txn_id": client_txn_id, "member_id": "-", "points": 1}):
        raise BadRequest(f"a client_txn_id is 1 to {holds.MAX_TXN_ID} characters")
    released = holds.release(device, client_txn_id)
    signatures.seen(device)
    return answer(200, {"released": released})
