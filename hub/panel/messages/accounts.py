"""The panel's balance and spend page, and the webhooks page with their deliveries.

The balance: the owner and support (figures, no person); webhooks: the owner (audited),
secrets never shown.
"""

from __future__ import annotations

from datetime import date, datetime, time

import jdatetime
from django.conf import settings
from django.db.models import Q, Sum
from django.http import Http404, HttpResponse
from django.shortcuts import redirect
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from hub import audit
from hub.errors import HubError
from hub.integration import endpoints
from hub.integration.models import Delivery, Endpoint
from hub.messaging import limits
from hub.messaging.models import Message
from hub.panel.access import PanelRequest, Role, panel_page
from hub.panel.messages.views import (
    PER_PAGE,
    _render,
)

# -- balance and spend -----------------------------------------------------------------------


def _spent_since(moment: datetime) -> int:
    total = Message.objects.filter(sent_at__gte=moment).aggregate(total=Sum("cost"))["total"]
    return int(total or 0)


def _month_start(today: date) -> date:
    """The first day of `today`'s month in the page's calendar (Jalali in Persian)."""
    if (get_language() or "fa").startswith("fa"):
        first: date = jdatetime.date.fromgregorian(date=today).replace(day=1).togregorian()
        return first
    return today.replace(day=1)


@never_cache
@panel_page(Role.OWNER, Role.SUPPORT)
def balance(request: PanelRequest) -> HttpResponse:
    """The gateway's credit (if it can tell), the spend today and this month, the budget."""
    from zoneinfo import ZoneInfo

    from hub.messaging.gateways import Refused, TryLater, open_gateway

    rules = limits.policy()
    now = timezone.now()
    zone = ZoneInfo(rules.time_zone)
    today = now.astimezone(zone).date()
    month = _month_start(today)
    spent_today = limits.spent_today(now, rules)
    credit: int | None = None
    gateway_name = ""
    problem = ""
    setting = settings.MESSAGING_GATEWAY
    if setting:
        try:
            gateway = open_gateway(setting)
            gateway_name = gateway.name
            credit = gateway.balance()
        except (HubError, TryLater, Refused):
            problem = str(_("The gateway did not say its balance just now."))
    else:
        problem = str(_("No SMS gateway is set (HUB_SMS_GATEWAY)."))
    return _render(
        request,
        "balance.html",
        {
            "credit": credit,
            "credit_in_rial": gateway_name == "kavenegar",
            "gateway": gateway_name,
            "problem": problem,
            "spent_today": spent_today,
            "spent_month": _spent_since(datetime.combine(month, time(0), zone)),
            "month": month,
            "budget": rules.daily_budget,
            "left": max(0, rules.daily_budget - spent_today),
            "queued": Message.objects.filter(state="queued").aggregate(
                total=Sum("cost", default=0)
            )["total"],
        },
    )


# -- webhooks --------------------------------------------------------------------------------


@never_cache
@panel_page(Role.OWNER)
def webhooks(request: PanelRequest) -> HttpResponse:
    """The endpoints (never their secrets) and the latest deliveries, failures first."""
    recent = (
        Delivery.objects.select_related("event")
        .filter(Q(state="failed") | Q(attempts__gt=0, state="pending") | Q(state="delivered"))
        .order_by("-id")[:PER_PAGE]
    )
    shown = [
        {
            "endpoint_id": d.endpoint_id,
            "event": d.event.type,
            "state": d.state,
            "status": d.last_status,
            "error": (d.last_error or "")[:200],
            "attempts": d.attempts,
            "next": d.next_attempt_at if d.state == "pending" else None,
            "at": d.finished_at or d.created_at,
        }
        for d in recent
    ]
    return _render(
        request, "webhooks.html", {"endpoints": endpoints.listing(), "deliveries": shown}
    )


@require_POST
@panel_page(Role.OWNER)
def webhook_active(request: PanelRequest, endpoint_id: int) -> HttpResponse:
    """Enable or disable an endpoint (its pending deliveries wait meanwhile)."""
    if not Endpoint.objects.filter(pk=endpoint_id).exists():
        raise Http404(str(_("No such endpoint.")))
    active = request.POST.get("active") == "1"
    endpoints.set_active(endpoint_id, active)
    # The names `hub webhook resume` and `pause` record (the same change, from the CLI).
    action = "webhook.resume" if active else "webhook.pause"
    audit.record(request, action, str(endpoint_id))
    return redirect("panel:messages:webhooks")
