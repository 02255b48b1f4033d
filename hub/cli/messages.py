"""`hub messages ...`: the SMS outbox's worker, its list, and the gateway setting.

hub messages work              # systemd's ExecStart; SIGTERM finishes the batch in hand
hub messages list --state failed
hub messages gateway           # the gateway in use (key masked) and its callback URLs
"""

from __future__ import annotations

import argparse
import json
import signal
import threading
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone

from hub.errors import HubError
from hub.formats import to_timestamp
from hub.members.phones import mask_phone
from hub.messaging import callbacks, limits
from hub.messaging.gateways import Gateway, Refused, TryLater, open_gateway
from hub.messaging.models import STATES, Message
from hub.messaging.worker import Worker


def register(commands: Any) -> None:
    """Add `messages`."""
    messages = commands.add_parser(
        "messages", help="the SMS outbox: its worker, its list, the gateway"
    ).add_subparsers(dest="action", required=True, metavar="ACTION")

    work = messages.add_parser("work", help="send the outbox through the gateway until stopped")
    work.add_argument("--batch", type=int, default=50, help="messages claimed at a time")
    work.add_argument("--lease", type=float, default=300, help="seconds a claim holds")
    work.add_argument("--idle", type=float, default=2.0, help="seconds to wait when idle")
    work.set_defaults(handler=messages_work)

    listing = messages.add_parser("list", help="the latest messages (phones masked)")
    listing.add_argument("--state", choices=STATES, help="only messages in this state")
    listing.add_argument("--limit", type=int, default=50, help="at most this many")
    listing.add_argument("--json", action="store_true", help="as JSON")
    listing.set_defaults(handler=messages_list)

    gateway = messages.add_parser("gateway", help="the gateway in use and its callback URLs")
    gateway.add_argument("--base-url", default="https://HUB", help="the hub's public URL")
    gateway.set_defaults(handler=messages_gateway)


def configured_gateway() -> Gateway:
    """The gateway HUB_SMS_GATEWAY names."""
    url = settings.MESSAGING_GATEWAY
    if not url:
        raise HubError("no SMS gateway: set HUB_SMS_GATEWAY (docs/messaging.md, 'Settings')")
    return open_gateway(url)


def messages_work(args: argparse.Namespace) -> int:
    """Send until SIGTERM or SIGINT; the batch in hand is finished first."""
    worker = Worker(configured_gateway(), batch=args.batch, lease=timedelta(seconds=args.lease))
    stop = threading.Event()

    def finish(signum: int, frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, finish)
    signal.signal(signal.SIGINT, finish)
    print(f"hub messages: sending through {worker.gateway.describe()}", flush=True)
    worker.run(stop, idle=args.idle)
    print("hub messages: stopped", flush=True)
    return 0


def messages_list(args: argparse.Namespace) -> int:
    """The latest messages, newest first, with phones masked and no text."""
    found = Message.objects.order_by("-id")
    if args.state:
        found = found.filter(state=args.state)
    rows = [
        {
            "id": m.pk,
            "kind": m.kind,
            "phone": mask_phone(m.phone),
            "state": m.state,
            "attempts": m.attempts,
            "parts": m.parts,
            "cost": m.cost,
            "marketing": m.marketing,
            "created_at": to_timestamp(m.created_at),
            "not_before": to_timestamp(m.not_before),
            "error": m.error,
        }
        for m in found[: max(args.limit, 0)]
    ]
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return 0
    for row in rows:
        print(
            f"{row['id']}\t{row['kind']}\t{row['phone']}\t{row['state']}\t"
            f"{row['attempts']} tries\t{row['parts']} parts\t{row['error']}"
        )
    return 0


def messages_gateway(args: argparse.Namespace) -> int:
    """The gateway's setting with its key masked, its balance, today's spend, and the URLs
    to give the gateway's panel."""
    gateway = configured_gateway()
    print(f"gateway: {gateway.describe()}")
    try:
        print(f"balance at the gateway: {gateway.balance():,}")
    except (TryLater, Refused) as exc:
        print(f"balance at the gateway: unknown ({exc})")
    rules = limits.policy()
    spent = limits.spent_today(timezone.now(), rules)
    print(f"spent today: {spent:,} Rial of a daily marketing budget of {rules.daily_budget:,}")
    base = args.base_url.rstrip("/")
    print(f"delivery reports: {base}{callbacks.path(gateway.name, 'delivery')}")
    print(f"replies (opt-out): {base}{callbacks.path(gateway.name, 'inbound')}")
    return 0
