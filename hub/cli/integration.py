"""`hub webhook ...`, `hub webhooks work` and `hub apikey ...`: the CRM's integration.

A secret or a key is printed once, when made; `list` never shows one. Each change is in
the panel's audit log (`via` cli), without the secret.
"""

from __future__ import annotations

import argparse
import getpass
import json
import logging
import signal
import sys
import threading
from datetime import UTC, datetime
from types import FrameType
from typing import Any

from django.http import HttpRequest

from hub import audit
from hub.integration import api_keys, delivery, endpoints


def register(commands: Any) -> None:
    """Add `webhook`, `webhooks` (the worker) and `apikey`."""
    webhook = commands.add_parser(
        "webhook", help="send the club's events to the chain's CRM"
    ).add_subparsers(dest="action", required=True, metavar="ACTION")

    add = webhook.add_parser("add", help="add an endpoint; prints its signing secret once")
    add.add_argument("url", help="https://crm.example/club-events")
    add.add_argument(
        "--events", required=True, help="comma-separated types, or all (docs/integration.md)"
    )
    add.set_defaults(handler=webhook_add)

    shown = webhook.add_parser("list", help="the endpoints, their deliveries and failures")
    shown.add_argument("--json", action="store_true", help="as JSON")
    shown.set_defaults(handler=webhook_list)

    rotate = webhook.add_parser(
        "rotate-secret", help="a new secret, printed once; the old one signs 24 h more"
    )
    rotate.add_argument("id", type=int, help="the endpoint's id (hub webhook list)")
    rotate.set_defaults(handler=webhook_rotate)

    for name, active, text in (
        ("pause", False, "stop sending to an endpoint (its deliveries wait)"),
        ("resume", True, "send to a paused endpoint again"),
    ):
        one = webhook.add_parser(name, help=text)
        one.add_argument("id", type=int)
        one.set_defaults(handler=webhook_active, active=active)

    retry = webhook.add_parser("retry-failed", help="try an endpoint's failed deliveries again")
    retry.add_argument("id", type=int)
    retry.set_defaults(handler=webhook_retry)

    workers = commands.add_parser("webhooks", help="the webhooks' worker").add_subparsers(
        dest="action", required=True, metavar="ACTION"
    )
    work = workers.add_parser("work", help="deliver until stopped (SIGTERM ends it cleanly)")
    work.add_argument("--once", action="store_true", help="deliver what is due, then end")
    work.set_defaults(handler=webhooks_work)

    apikey = commands.add_parser("apikey", help="keys of the read API").add_subparsers(
        dest="action", required=True, metavar="ACTION"
    )
    key_add = apikey.add_parser("add", help="make a key; prints it once")
    key_add.add_argument("name", help="who uses it: crm-didar")
    key_add.add_argument(
        "--scopes", required=True, help=f"comma-separated: {','.join(api_keys.SCOPES)}"
    )
    key_add.add_argument("--per-minute", type=int, default=600, help="its rate limit")
    key_add.set_defaults(handler=apikey_add)
    key_list = apikey.add_parser("list", help="the keys (never the keys themselves)")
    key_list.add_argument("--json", action="store_true", help="as JSON")
    key_list.set_defaults(handler=apikey_list)
    key_revoke = apikey.add_parser("revoke", help="revoke a key for good")
    key_revoke.add_argument("name")
    key_revoke.set_defaults(handler=apikey_revoke)


def _audit(action: str, subject: str, detail: dict[str, Any] | None = None) -> None:
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "?"
    audit.record(HttpRequest(), action, subject, {"via": "cli", "user": user} | (detail or {}))


def _now() -> datetime:
    return datetime.now(UTC)


def webhook_add(args: argparse.Namespace) -> int:
    """Add an endpoint and print its id and secret (shown this once)."""
    made = endpoints.add(args.url, endpoints.parse_events(args.events))
    _audit("webhook.add", str(made.id), {"events": endpoints.parse_events(args.events)})
    print(f"endpoint {made.id}: {made.url}")
    print(f"secret (shown once, keep it at the receiver): {made.secret}")
    return 0


def webhook_list(args: argparse.Namespace) -> int:
    """Print each endpoint with its deliveries and latest failure."""
    rows = endpoints.listing()
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=2, default=str))
        return 0
    for row in rows:
        state = "active" if row["active"] else "paused"
        print(
            f"{row['id']}\t{row['url']}\t{state}\t{','.join(row['events'])}\t"
            f"pending {row['pending']} (retrying {row['retrying']})\t"
            f"delivered {row['delivered']}\tfailed {row['failed']}"
        )
        failure = row["last_failure"]
        if failure is not None:
            print(f"\tlast failure: {failure['last_error']} ({failure['attempts']} attempts)")
    return 0


def webhook_rotate(args: argparse.Namespace) -> int:
    """Rotate an endpoint's secret; print the new one."""
    made = endpoints.rotate(args.id, _now())
    _audit("webhook.rotate_secret", str(made.id))
    print(f"new secret for endpoint {made.id} (shown once; the old one signs for 24 hours):")
    print(made.secret)
    return 0


def webhook_active(args: argparse.Namespace) -> int:
    """Pause or resume an endpoint."""
    endpoints.set_active(args.id, args.active)
    _audit("webhook.resume" if args.active else "webhook.pause", str(args.id))
    return 0


def webhook_retry(args: argparse.Namespace) -> int:
    """Make an endpoint's failed deliveries pending again."""
    count = endpoints.retry_failed(args.id, _now())
    _audit("webhook.retry_failed", str(args.id), {"deliveries": count})
    print(f"{count} deliveries to try again")
    return 0


def webhooks_work(args: argparse.Namespace) -> int:
    """Deliver until SIGTERM or SIGINT: the delivery in flight ends, the rest go back."""
    logging.getLogger("hub").setLevel(logging.INFO)
    stop = threading.Event()

    def stopping(signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, stopping)
    signal.signal(signal.SIGINT, stopping)
    sender = delivery.Sender()
    if args.once:
        while delivery.deliver_due(sender, stop):
            pass
        return 0
    print("delivering webhooks", file=sys.stderr, flush=True)
    delivery.work(sender, stop)
    print("stopped", file=sys.stderr, flush=True)
    return 0


def apikey_add(args: argparse.Namespace) -> int:
    """Make a key and print it (shown this once)."""
    scopes = api_keys.parse_scopes(args.scopes)
    key = api_keys.add(args.name, scopes, args.per_minute)
    _audit("apikey.add", args.name, {"scopes": scopes})
    print(key)
    return 0


def apikey_list(args: argparse.Namespace) -> int:
    """Print the keys' names, prefixes, scopes and use."""
    rows = api_keys.listing()
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=2, default=str))
        return 0
    for row in rows:
        state = f"revoked {row['revoked_at']}" if row["revoked_at"] else "in force"
        scopes = ",".join(row["scopes"])  # type: ignore[arg-type]
        print(f"{row['name']}\tclub_{row['prefix']}_…\t{scopes}\t{row['per_minute']}/min\t{state}")
    return 0


def apikey_revoke(args: argparse.Namespace) -> int:
    """Revoke a key."""
    api_keys.revoke(args.name, _now())
    _audit("apikey.revoke", args.name)
    return 0
