"""`hub member ...`: the panel's member operations (find, show, adjust, block, export, erase).

The shell is the owner's (whoever may run `hub` holds the database's password): every
branch, the person shown. `--branch NAME` narrows a command to that branch's members, as
its manager sees them in the panel. Each command is in the audit log as the panel's are,
`via` "cli" with the system user who ran it.
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
import uuid
from typing import Any

from django.http import HttpRequest

from hub import audit
from hub.devices.models import Branch
from hub.errors import HubError
from hub.formats import to_timestamp
from hub.members import operations, profile, search
from hub.members.typed import read_query


def register(commands: Any) -> None:
    """Add `member`."""
    member = commands.add_parser(
        "member", help="find, show, adjust, block a card, export or erase a member"
    ).add_subparsers(dest="action", required=True, metavar="ACTION")

    find = member.add_parser("find", help="members by phone (any form), card, name or id")
    find.add_argument("query")
    _common(find)
    find.set_defaults(handler=member_find)

    show = member.add_parser("show", help="a member's record, balance, cards and history")
    show.add_argument("id", help="the member id")
    show.add_argument("--page", type=int, default=1, help="the history's page (50 a page)")
    _common(show)
    show.set_defaults(handler=member_show)

    adjust = member.add_parser("adjust", help="add or take points, with a reason")
    adjust.add_argument("id", help="the member id")
    adjust.add_argument("points", type=int, help="signed: 100 adds, -100 takes")
    adjust.add_argument("--reason", required=True, help="why (kept with the entry)")
    adjust.add_argument(
        "--confirm", action="store_true", help="beyond the program's max_adjust_points"
    )
    adjust.add_argument("--txn", help="a client transaction id: the same one adjusts once")
    _common(adjust)
    adjust.set_defaults(handler=member_adjust)

    block = member.add_parser("block-card", help="block a card: refused at every kiosk")
    block.add_argument("uid", help="the card's uid (hex)")
    _common(block)
    block.set_defaults(handler=member_block_card)

    export = member.add_parser("export", help="everything held about a member, as JSON")
    export.add_argument("id", help="the member id")
    _common(export, json_flag=False)
    export.set_defaults(handler=member_export)

    erase = member.add_parser("erase", help="erase the person everywhere (asks to confirm)")
    erase.add_argument("id", help="the member id")
    erase.add_argument("--yes", action="store_true", help="do not ask (scripts)")
    _common(erase)
    erase.set_defaults(handler=member_erase)


def _common(parser: argparse.ArgumentParser, *, json_flag: bool = True) -> None:
    parser.add_argument("--branch", help="as this branch's manager sees it")
    if json_flag:
        parser.add_argument("--json", action="store_true", help="as JSON")


def _viewer(args: argparse.Namespace) -> search.Scope:
    if not args.branch:
        return search.OWNER
    branch = Branch.objects.filter(name=args.branch).first()
    if branch is None:
        raise HubError(f"no branch named {args.branch!r}")
    return search.Scope(branch_ids=frozenset({branch.pk}))


def _audit(action: str, subject: str = "", detail: dict[str, Any] | None = None) -> None:
    """Record a command in the panel's audit log (no request: no user, no address)."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no name for this uid (a container)
        user = "?"
    audit.record(HttpRequest(), action, subject, {"via": "cli", "user": user} | (detail or {}))


def member_find(args: argparse.Namespace) -> int:
    """Members found by phone, card, name or id (phones and names masked)."""
    found = search.find(args.query, _viewer(args))
    _audit("member.search", detail={"by": read_query(args.query).kinds, "found": len(found)})
    if args.json:
        print(json.dumps([f.as_json() for f in found], ensure_ascii=False, indent=2))
        return 0
    if not found:
        print("no member found")
    for f in found:
        print(f"{f.member_id}\t{f.status}\t{f.phone}\t{f.name}\t{f.balance} points\t({f.matched})")
    return 0


def member_show(args: argparse.Namespace) -> int:
    """A member's record (the person shown) and a page of their history."""
    viewer = _viewer(args)
    record = profile.profile(args.id, viewer, reveal=True)
    page = profile.history(args.id, viewer, args.page)
    _audit("member.show_personal", record.member_id)
    data: dict[str, Any] = {
        "member_id": record.member_id,
        "status": record.status,
        "phone": record.phone,
        "name": record.name,
        "birthday": record.birthday.isoformat() if record.birthday else None,
        "language": record.language,
        "consent": {
            "marketing": record.consent_marketing,
            "version": record.consent_version,
            "at": to_timestamp(record.consent_at) if record.consent_at else None,
        },
        "balance": record.balance,
        "held": record.held,
        "tier": record.tier,
        "cards": [{"uid": c.uid, "status": c.status} for c in record.cards],
        "aliases": record.aliases,
        "branches": record.branches,
        "history": {
            "page": page.page,
            "pages": page.pages,
            "total": page.total,
            "entries": [
                {
                    "entry_id": e.entry_id,
                    "kind": e.kind,
                    "points": e.points,
                    "amount": e.amount,
                    "created_at": to_timestamp(e.created_at) if e.created_at else None,
                    "branch": e.branch,
                    "device_id": e.device_id,
                    "reason": e.reason,
                }
                for e in page.entries
            ],
        },
    }
    if args.json:
        print(json.dumps(data, ensure_ascii=False, indent=2))
        return 0
    print(f"{record.member_id} ({record.status}) {record.phone} {record.name}")
    print(f"balance {record.balance} ({record.held} held), tier {record.tier or '-'}")
    consent = data["consent"]
    print(f"consent: marketing {consent['marketing']}, text {consent['version']}, {consent['at']}")
    for card in record.cards:
        print(f"card {card.uid} {card.status}")
    print(f"branches: {', '.join(record.branches) or '-'}; aliases: {', '.join(record.aliases)}")
    for e in data["history"]["entries"]:
        print(
            f"{e['created_at']}\t{e['branch']}\t{e['kind']}\t{e['points']:+}\t{e['reason'] or ''}"
        )
    print(f"page {page.page} of {page.pages} ({page.total} entries)")
    return 0


def member_adjust(args: argparse.Namespace) -> int:
    """Add or take points, as an entry of the hub's own."""
    done = operations.adjust(
        args.id,
        args.points,
        args.reason,
        _viewer(args),
        actor="cli",
        client_txn_id=args.txn or f"cli-{uuid.uuid4()}",
        confirmed=args.confirm,
    )
    _audit(
        "member.adjust",
        done.member_id,
        {"points": done.points, "entry_id": done.entry_id, "confirmed": args.confirm},
    )
    if args.json:
        print(
            json.dumps(
                {
                    "member_id": done.member_id,
                    "entry_id": done.entry_id,
                    "points": done.points,
                    "balance": done.balance,
                    "repeated": done.repeated,
                }
            )
        )
        return 0
    again = " (already made with this --txn)" if done.repeated else ""
    print(f"{done.points:+} points for {done.member_id}{again}: balance {done.balance}")
    return 0


def member_block_card(args: argparse.Namespace) -> int:
    """Block a card; kiosks refuse it after their next pull."""
    done = operations.block_card(args.uid, _viewer(args))
    _audit("member.block_card", done.member_id)
    if args.json:
        print(json.dumps({"member_id": done.member_id, "blocked": done.was_active}))
        return 0
    state = "blocked" if done.was_active else "was already blocked"
    print(f"card of {done.member_id} {state}")
    return 0


def member_export(args: argparse.Namespace) -> int:
    """Everything the hub holds about a member (an access request), as JSON on stdout."""
    data = operations.export(args.id, _viewer(args))
    _audit("member.export", str(data["member_id"]))
    json.dump(data, sys.stdout, ensure_ascii=False, indent=2)
    print()
    return 0


def member_erase(args: argparse.Namespace) -> int:
    """Erase the person: personal data and cards gone, the anonymous ledger kept."""
    viewer = _viewer(args)
    member = profile.visible(args.id, viewer)
    if not args.yes:
        print(
            f"Erase member {member.member_id} everywhere (hub and every kiosk)? "
            "This cannot be undone. Type the member id to confirm: ",
            end="",
            file=sys.stderr,
            flush=True,
        )
        typed = sys.stdin.readline().strip()
        if typed != member.member_id:
            raise HubError("not erased: the id typed did not match")
    done = operations.erase(member.member_id, viewer)
    _audit("member.erase", done.member_id, {"ids": done.ids})
    if args.json:
        print(json.dumps({"member_id": done.member_id, "erased": done.ids}))
        return 0
    print(f"erased {', '.join(done.ids) or 'nothing (already erased)'}")
    return 0
