"""`hub program show|publish` and `hub staff put`: the owner's signed changes, from the shell."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from hub.errors import HubError
from hub.formats import to_timestamp
from hub.program import publish
from hub.program.pins import PIN
from hub.program.rules import verification_of


def register(commands: Any) -> None:
    """Add `program` and `staff`."""
    program = commands.add_parser(
        "program", help="the chain's program (signed, sent to every kiosk)"
    ).add_subparsers(dest="action", required=True, metavar="ACTION")
    show = program.add_parser("show", help="the program in force")
    show.add_argument("--json", action="store_true", help="its data as JSON (publishable)")
    show.set_defaults(handler=program_show)
    put = program.add_parser("publish", help="publish FILE.json as the next version")
    put.add_argument("file", metavar="FILE.json")
    put.set_defaults(handler=program_publish)

    staff = commands.add_parser(
        "staff", help="cashiers and managers (signed, sent to every kiosk)"
    ).add_subparsers(dest="action", required=True, metavar="ACTION")
    add = staff.add_parser("put", help="publish a staff member, new or changed")
    add.add_argument("--staff-id", required=True, help="the staff member's id")
    add.add_argument("--name", required=True)
    add.add_argument("--role", required=True, help="cashier or manager")
    add.add_argument(
        "--pin-stdin", action="store_true", help="read the PIN (4 to 8 digits) from stdin"
    )
    add.add_argument("--card", action="append", default=[], metavar="UID", help="a staff card")
    add.add_argument("--disabled", action="store_true", help="the account cannot log in")
    add.set_defaults(handler=staff_put)


def program_show(args: argparse.Namespace) -> int:
    """The program in force: its version and numbers (or its data as JSON)."""
    found = publish.current()
    if found is None:
        raise HubError("no program yet: run hub migrate first")
    data: dict[str, Any] = found.data
    if args.json:
        print(json.dumps(data, ensure_ascii=False, indent=2, sort_keys=True))
        return 0
    print(f"program version {found.version}, published {to_timestamp(found.published_at)}")
    for name in sorted(data):
        if name not in ("tiers", "rewards", "version", "verification"):
            print(f"  {name}: {data[name]}")
    asked = verification_of(data)  # what a program that says nothing asks, too
    print("  verification: " + ", ".join(f"{k} {'on' if v else 'off'}" for k, v in asked.items()))
    for tier in data["tiers"]:
        print(f"  tier {tier['id']}: from {tier['threshold']} points, x{tier['multiplier']}")
    for reward in data["rewards"]:
        print(f"  reward {reward['id']}: {reward['cost']} points ({reward['kind']})")
    return 0


def program_publish(args: argparse.Namespace) -> int:
    """Publish a program file as the next version."""
    path = Path(args.file)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise HubError(f"cannot read {path}: {getattr(exc, 'strerror', None) or exc}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise HubError(f"{path} is not JSON: {exc}") from None
    published = publish.publish_program(data)
    print(f"program version {published.version} published: every kiosk gets it at its next pull")
    return 0


def staff_put(args: argparse.Namespace) -> int:
    """Publish a staff member; the PIN comes from stdin, never from the command line."""
    pin = sys.stdin.readline().strip() if args.pin_stdin else None
    if pin is not None and not PIN.fullmatch(pin):
        raise HubError("the PIN on stdin must be 4 to 8 digits")
    data = publish.put_staff(
        staff_id=args.staff_id,
        name=args.name,
        role=args.role,
        pin=pin,
        cards=args.card,
        disabled=args.disabled,
    )
    state = "disabled" if data["disabled"] else "active"
    print(f"staff {data['staff_id']} published ({data['role']}, {state})")
    return 0
