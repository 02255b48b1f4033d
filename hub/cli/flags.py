"""`hub flag list`: what the hub refused or found suspicious, for the owner."""

from __future__ import annotations

import argparse
import json
from typing import Any

from hub.flags.flags import listing


def register(commands: Any) -> None:
    """Add `flag list`."""
    flag = commands.add_parser("flag", help="what the hub refused, for the owner").add_subparsers(
        dest="action", required=True, metavar="ACTION"
    )
    shown = flag.add_parser("list", help="the flags not yet resolved, oldest first")
    shown.add_argument("--all", action="store_true", help="resolved ones too")
    shown.add_argument("--json", action="store_true", help="as JSON")
    shown.set_defaults(handler=flag_list)


def flag_list(args: argparse.Namespace) -> int:
    """Print the flags, a line each (or as JSON)."""
    rows = listing(unresolved_only=not args.all)
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return 0
    for row in rows:
        about = row["entry_id"] or row["member_id"] or "-"
        detail = json.dumps(row["detail"], ensure_ascii=False, sort_keys=True)
        who = row["device"] or "-"
        print(f"{row['id']}\t{row['raised_at']}\t{row['code']}\t{who}\t{about}\t{detail}")
    return 0
