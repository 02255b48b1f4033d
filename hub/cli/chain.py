"""`hub branch`, `hub device`, `hub export` and `hub demo`: the owner's chain from the shell."""

from __future__ import annotations

import argparse
import json
import secrets
import sys
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction

from hub import reports
from hub.devices import registry
from hub.devices.enrollment import Issued
from hub.devices.models import Branch
from hub.formats import to_timestamp

DEMO_BRANCHES = ("Valiasr", "Tajrish")
DEMO_OWNER = "owner"


def register(commands: Any) -> None:
    """Add `branch`, `device`, `export` and `demo`."""
    branch = commands.add_parser("branch", help="the chain's branches").add_subparsers(
        dest="action", required=True, metavar="ACTION"
    )
    add = branch.add_parser("add", help="add a branch")
    add.add_argument("name")
    add.set_defaults(handler=branch_add)
    listing = branch.add_parser("list", help="the branches")
    listing.add_argument("--json", action="store_true", help="as JSON")
    listing.set_defaults(handler=branch_list)

    device = commands.add_parser("device", help="the kiosks").add_subparsers(
        dest="action", required=True, metavar="ACTION"
    )
    add = device.add_parser("add", help="add a device at a branch: prints its one-time code")
    add.add_argument("--branch", required=True, help="the branch's name")
    add.add_argument("--count", type=_count, default=1, help="add this many devices (default 1)")
    add.add_argument("--json", action="store_true", help="as JSON, one object a line")
    add.set_defaults(handler=device_add)
    code = device.add_parser("code", help="a new one-time code for a device (re-enrollment)")
    code.add_argument("id", help="the device's number, or the kiosk's device id")
    code.add_argument("--json", action="store_true", help="as JSON")
    code.set_defaults(handler=device_code)
    revoke = device.add_parser("revoke", help="refuse a device's requests and codes for good")
    revoke.add_argument("id", help="the device's number, or the kiosk's device id")
    revoke.set_defaults(handler=device_revoke)
    reinstate = device.add_parser(
        "reinstate", help="lift a revocation: the old secret stays refused; prints a new code"
    )
    reinstate.add_argument("id", help="the device's number, or the kiosk's device id")
    reinstate.add_argument("--json", action="store_true", help="as JSON")
    reinstate.set_defaults(handler=device_reinstate)
    listing = device.add_parser("list", help="the devices, their state and high-water mark")
    listing.add_argument("--json", action="store_true", help="as JSON")
    listing.set_defaults(handler=device_list)

    commands.add_parser(
        "export", help="branches, devices, members and entries as JSON on stdout"
    ).set_defaults(handler=export)
    commands.add_parser(
        "demo", help="a demo chain: two branches and an owner (its password printed once)"
    ).set_defaults(handler=demo)


def branch_add(args: argparse.Namespace) -> int:
    """Add a branch."""
    branch = registry.add_branch(args.name)
    print(f"branch {branch.name!r} added")
    return 0


def branch_list(args: argparse.Namespace) -> int:
    """The branches, with how many devices each has."""
    rows = [
        {"name": b.name, "devices": b.devices.count(), "created_at": to_timestamp(b.created_at)}
        for b in Branch.objects.order_by("id")
    ]
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return 0
    for row in rows:
        print(f"{row['name']}\t{row['devices']} devices")
    return 0


def _count(text: str) -> int:
    if not (text.isascii() and text.isdigit() and 1 <= int(text) <= 1000):
        raise argparse.ArgumentTypeError(f"a number from 1 to 1000, not {text!r}")
    return int(text)


def device_add(args: argparse.Namespace) -> int:
    """Add devices at a branch and print their one-time enrollment codes."""
    with transaction.atomic():  # all of them or none
        issued = [registry.add_device(args.branch) for _ in range(args.count)]
    for one in issued:
        _print_code(one, args.json)
    return 0


def device_code(args: argparse.Namespace) -> int:
    """A new one-time code for an existing device."""
    _print_code(registry.new_code(args.id), args.json)
    return 0


def _print_code(issued: Issued, as_json: bool) -> None:
    device = issued.device
    if as_json:
        print(
            json.dumps(
                {
                    "device": device.pk,
                    "branch": device.branch.name,
                    "device_id": device.device_id,
                    "code": issued.code,
                    "expires_at": to_timestamp(issued.expires_at),
                },
                ensure_ascii=False,
            )
        )
        return
    print(f"device {device.pk} at {device.branch.name!r}: enrollment code {issued.code}")
    print(f"  single use, valid until {issued.expires_at:%Y-%m-%d %H:%M} UTC; on the kiosk:")
    print(f"  kiosk provision --crm https://HUB --code {issued.code}")


def device_revoke(args: argparse.Namespace) -> int:
    """Revoke a device: its requests and codes are refused from now on."""
    device, revoked = registry.revoke(args.id)
    name = f"device {device.pk} ({device.device_id or 'never enrolled'})"
    print(f"{name} revoked" if revoked else f"{name} was already revoked")
    return 0


def device_reinstate(args: argparse.Namespace) -> int:
    """Lift a device's revocation on purpose; its kiosk enrolls again with the new code."""
    _print_code(registry.reinstate(args.id), args.json)
    return 0


def device_list(args: argparse.Namespace) -> int:
    """Every device: number, branch, kiosk id, state, high-water mark, last heard from."""
    views = reports.devices()
    if args.json:
        print(json.dumps([v.as_json() for v in views], ensure_ascii=False, indent=2))
        return 0
    print("#\tbranch\tdevice id\tstate\thigh water\tlast seen (UTC)")
    for v in views:
        seen = f"{v.last_seen_at:%Y-%m-%d %H:%M}" if v.last_seen_at else "never"
        print(f"{v.number}\t{v.branch}\t{v.device_id or '-'}\t{v.state}\t{v.high_water}\t{seen}")
    return 0


def export(args: argparse.Namespace) -> int:
    """Everything the hub holds, as JSON on stdout (a consistent copy)."""
    reports.export(sys.stdout)
    return 0


def demo(args: argparse.Namespace) -> int:
    """Two branches and the panel's owner: a generated password and a TOTP secret, printed
    once when the owner is made (never stored in the clear, never logged), so that `make
    hub` ends with a panel one can sign in to. More users: `hub user add`."""
    from django_otp.plugins.otp_totp.models import TOTPDevice  # type: ignore[import-untyped]

    from hub.panel.models import PanelUser, Role

    with transaction.atomic():
        for name in DEMO_BRANCHES:
            Branch.objects.get_or_create(name=name)
        users = get_user_model()
        if users.objects.filter(username=DEMO_OWNER).exists():
            print(f"demo chain ready: {', '.join(DEMO_BRANCHES)}; owner {DEMO_OWNER!r} exists")
            if not PanelUser.objects.filter(user__username=DEMO_OWNER).exists():
                # Made by an older `hub demo`, which gave no panel access.
                print(f"for the panel: hub user add NAME --role owner ({DEMO_OWNER!r} is not one)")
            return 0
        password = secrets.token_urlsafe(12)  # 16 characters: Django's validators pass it
        owner = users.objects.create_user(DEMO_OWNER, email="", password=password)
        PanelUser.objects.create(user=owner, role=Role.OWNER.value)
        device = TOTPDevice.objects.create(user=owner, name="panel", confirmed=True)
    print(f"demo chain ready: {', '.join(DEMO_BRANCHES)}")
    print(f"the owner's login (shown this once): {DEMO_OWNER} / {password}")
    print("and the owner's second factor, for an authenticator app (shown once, keep it secret):")
    print(f"  {device.config_url}")
    return 0
