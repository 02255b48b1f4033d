"""`hub messages ...`: the SMS outbox's worker, its list, and the gateway setting.

hub messages work              # systemd's ExecStart; SIGTERM finishes the batch in hand
hub messages list --state failed
hub messages gateway           # the gateway in use (key masked) and its callback URLs
hub messages plan [--now ISO]  # birthday and win-back messages for today (the worker runs it too)
hub messages receipts off +989121234567   # a member's own choice about receipts
hub messages policy --receipts opt_in --winback-days 30
"""

from __future__ import annotations

import argparse
import getpass
import json
import signal
import threading
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.utils import timezone

from hub import audit
from hub.errors import HubError
from hub.formats import to_timestamp
from hub.members.models import Member
from hub.members.phones import mask_phone, phone_candidates
from hub.messaging import callbacks, limits, planner, receipts
from hub.messaging.gateways import Gateway, Refused, TryLater, open_gateway
from hub.messaging.models import RECEIPTS, STATES, Message, Policy
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

    plan = messages.add_parser("plan", help="queue today's birthday and win-back messages")
    plan.add_argument("--now", help="the moment to plan for (ISO 8601; default: now)")
    plan.set_defaults(handler=messages_plan)

    receipts = messages.add_parser("receipts", help="a member's receipts on or off, by phone")
    receipts.add_argument("choice", choices=("on", "off"))
    receipts.add_argument("phone", help="the member's phone, in any form")
    receipts.set_defaults(handler=messages_receipts)

    policy = messages.add_parser("policy", help="show or change the chain's messaging policy")
    policy.add_argument("--receipts", choices=RECEIPTS, help="opt_out, opt_in or off")
    policy.add_argument("--winback-days", type=int, help="days after a last visit (0: none)")
    policy.add_argument("--shop-name", help="the shop's name in every message")
    policy.set_defaults(handler=messages_policy)


def configured_gateway() -> Gateway:
    """The gateway HUB_SMS_GATEWAY names."""
    url = settings.MESSAGING_GATEWAY
    if not url:
        raise HubError("no SMS gateway: set HUB_SMS_GATEWAY (docs/messaging.md, 'Settings')")
    return open_gateway(url)


def messages_work(args: argparse.Namespace) -> int:
    """Send until SIGTERM or SIGINT; the batch in hand is finished first."""
    worker = Worker(
        configured_gateway(), batch=args.batch, lease=timedelta(seconds=args.lease), plan=True
    )
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


def messages_plan(args: argparse.Namespace) -> int:
    """One run of the planner (idempotent: a second run queues nothing more)."""
    now = timezone.now()
    if args.now:
        try:
            now = datetime.fromisoformat(args.now)
        except ValueError:
            raise HubError(f"--now {args.now!r} is not an ISO 8601 time") from None
        if now.tzinfo is None:
            raise HubError("--now needs a time zone (2026-03-21T09:00+03:30)")
    done = planner.plan(now)
    print(f"queued {done.birthdays} birthday and {done.winbacks} win-back messages")
    return 0


def messages_receipts(args: argparse.Namespace) -> int:
    """A member's own choice about receipts, found by their phone."""
    phones = phone_candidates(args.phone)
    found = list(Member.objects.filter(phone__in=phones, status="active", merged_into__isnull=True))
    if len(found) != 1:
        raise HubError("no active member with this phone" if not found else "several members")
    member = found[0]
    wanted = args.choice == "on"
    receipts.choose(member.member_id, wanted, "cli")
    _audit("messages.receipts", member.member_id, {"receipts": wanted})
    state = "on" if receipts.wanted(member.member_id) else "off"
    print(
        f"receipts {args.choice} for {member.member_id} ({mask_phone(member.phone)}): now {state}"
    )
    return 0


def messages_policy(args: argparse.Namespace) -> int:
    """The policy's receipts, win-back and shop name settings, changed if asked."""
    rules = limits.policy()
    changed: dict[str, object] = {}
    if args.receipts is not None:
        changed["receipts"] = args.receipts
    if args.winback_days is not None:
        if args.winback_days < 0:
            raise HubError("--winback-days is 0 (none) or more")
        changed["winback_days"] = args.winback_days
    if args.shop_name is not None:
        changed["shop_name"] = args.shop_name.strip()
    if changed:
        Policy.objects.filter(id=rules.id).update(**changed)
        _audit("messages.policy", "", changed)
        rules = limits.policy()
    print(f"receipts: {rules.receipts}")
    print(f"win-back after: {rules.winback_days} days" if rules.winback_days else "win-back: off")
    print(f"shop name: {rules.shop_name}")
    print(f"time zone: {rules.time_zone}; quiet hours {rules.quiet_start}-{rules.quiet_end}")
    return 0


def _audit(action: str, subject: str, detail: dict[str, object]) -> None:
    """Record a command in the panel's audit log (no request: no user, no address)."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no name for this uid (a container)
        user = "?"
    audit.record(HttpRequest(), action, subject, {"via": "cli", "user": user} | detail)
