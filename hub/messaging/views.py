"""The gateway's callbacks (delivery reports, replies) and the opt-out link's page."""

from __future__ import annotations

import logging

from django.core import signing
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from hub.messaging import callbacks, links, receipts
from hub.messaging.gateways import e164
from hub.messaging.gateways.kavenegar import outcome
from hub.messaging.reports import apply_report, is_stop_word, opt_out

log = logging.getLogger("hub.messaging")


def _not_found() -> JsonResponse:
    return JsonResponse({"error": "not_found"}, status=404)


@csrf_exempt  # the gateway's servers post here; the path's token is the check
@require_http_methods(["GET", "POST"])
def delivery(request: HttpRequest, gateway: str, token: str) -> HttpResponse:
    """A delivery report: messageid and status (Kavenegar's codes), by POST or GET."""
    if not callbacks.valid(gateway, token):
        return _not_found()
    data = request.POST if request.method == "POST" else request.GET
    gateway_id, status = data.get("messageid", ""), data.get("status", "")
    if not (gateway_id.isdigit() and status.isdigit()):
        return JsonResponse({"error": "bad_report"}, status=400)
    applied = apply_report(gateway, gateway_id, outcome(int(status)), timezone.now())
    return JsonResponse({"applied": applied})


@csrf_exempt
@require_http_methods(["GET", "POST"])
def inbound(request: HttpRequest, gateway: str, token: str) -> HttpResponse:
    """A reply from a phone (from, message): a stop word opts the phone out at once."""
    if not callbacks.valid(gateway, token):
        return _not_found()
    data = request.POST if request.method == "POST" else request.GET
    sender, text = data.get("from", ""), data.get("message", "")
    phone = _e164(sender)
    if phone is None:
        return JsonResponse({"error": "bad_sender"}, status=400)
    if not is_stop_word(text):
        return JsonResponse({"opted_out": False})
    cancelled = opt_out(phone, "reply", timezone.now())
    log.info("messaging: a phone opted out by reply (%d queued cancelled)", cancelled)
    return JsonResponse({"opted_out": True})


@require_http_methods(["GET", "POST"])
def stop(request: HttpRequest, signed: str) -> HttpResponse:
    """The opt-out link: GET shows a button (link previews must not opt anyone out), POST
    applies it."""
    try:
        phone = links.phone_of(signed)
    except signing.BadSignature:
        return HttpResponse(links.page("bad"), status=404)
    if request.method == "GET":
        return HttpResponse(links.page("ask", request))
    if request.POST.get("what") == "receipts":  # the page's second switch
        receipts.choose(links.member_of(signed).member_id, False, "link")
        return HttpResponse(links.page("receipts_done"))
    opt_out(phone, "link", timezone.now())
    return HttpResponse(links.page("done"))


def _e164(sender: str) -> str | None:
    digits = sender.strip().lstrip("+")
    if not (digits.isascii() and digits.isdigit()):
        return None
    phone = e164(digits)
    return phone if 11 <= len(phone) <= 16 else None
