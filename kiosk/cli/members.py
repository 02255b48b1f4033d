"""`kiosk member ...` and `kiosk card ...`: enrolling, showing, erasing, importing, exporting."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from kiosk.appliance.private_file import private_file, readable_by_others
from kiosk.cli.common import (
    EXIT_FAILED,
    Context,
    add_member_selector,
    common_options,
    emit,
    new_txn_id,
)
from kiosk.core.member_io import export_members, import_members, member_read, read_member_csv
from kiosk.core.store.staff import CLI
from kiosk.core.summary import member_summary
from kiosk.errors import InvalidInput, StorageUnavailable
from kiosk.text.dates import parse_date_input


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the member and card commands."""
    common = common_options()
    member = commands.add_parser("member", help="enroll, show, erase, import and export members")
    sub = member.add_subparsers(dest="member_command", metavar="COMMAND", required=True)

    p = sub.add_parser(
        "enroll",
        parents=[common],
        help="enroll a member by phone",
        description="Enroll a member by phone. Example: kiosk member enroll --phone 09121234567",
    )
    p.add_argument("--phone", required=True, help="mobile number, any common form")
    p.add_argument("--name")
    p.add_argument("--birthday", help="YYYY-MM-DD, Gregorian or Jalali (e.g. 1370-05-12)")
    p.add_argument("--card", metavar="UID", help="link this card too")
    p.add_argument("--consent", action="store_true", help="the member agreed to marketing")
    p.add_argument("--consent-version", help="version of the consent text shown (with --consent)")
    p.add_argument("--txn", help="client transaction id (a retry with the same id is a no-op)")
    p.set_defaults(handler=enroll)

    p = sub.add_parser(
        "show",
        parents=[common],
        help="a member's balance, tier and rewards",
        description="Show a member. Example: kiosk member show --phone 09121234567 --json",
    )
    add_member_selector(p)
    p.set_defaults(handler=show)

    p = sub.add_parser(
        "erase",
        parents=[common],
        help="erase a member's personal data (ledger stays)",
        description="Erase a person; the anonymous points history stays. "
        "Example: kiosk member erase --phone 09121234567 --yes",
    )
    add_member_selector(p)
    p.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    p.set_defaults(handler=erase)

    p = sub.add_parser(
        "import",
        parents=[common],
        help="enroll members from a CSV file",
        description="Enroll members from CSV with columns phone,name,birthday,card,consent,"
        "consent_version,points (only phone is required). Every bad row is reported with its "
        "line number and nothing is written, unless --skip-bad. "
        "Example: kiosk member import members.csv",
    )
    p.add_argument("file", type=Path, metavar="FILE.csv")
    p.add_argument("--skip-bad", action="store_true", help="import the good rows anyway")
    p.set_defaults(handler=import_cmd)

    p = sub.add_parser(
        "export",
        parents=[common],
        help="export members (with personal data) as CSV or JSONL",
        description="Export members, or one member's data on request. "
        "Example: kiosk member export --output members.csv",
    )
    add_member_selector(p, required=False)
    p.add_argument("--format", choices=("csv", "jsonl"), default="csv")
    p.add_argument("--output", type=Path, help="file to write (default: standard output)")
    p.set_defaults(handler=export_cmd)

    card = commands.add_parser("card", help="link, unlink and block cards")
    sub = card.add_subparsers(dest="card_command", metavar="COMMAND", required=True)
    p = sub.add_parser(
        "link",
        parents=[common],
        help="link a card to a member",
        description="Example: kiosk card link 04A23B4C --phone 09121234567",
    )
    p.add_argument("uid", metavar="UID")
    add_member_selector(p)
    p.set_defaults(handler=card_link)
    p = sub.add_parser(
        "unlink",
        parents=[common],
        help="forget a card",
        description="Example: kiosk card unlink 04A23B4C",
    )
    p.add_argument("uid", metavar="UID")
    p.set_defaults(handler=card_unlink)
    p = sub.add_parser(
        "block",
        parents=[common],
        help="block a lost card",
        description="Example: kiosk card block 04A23B4C",
    )
    p.add_argument("uid", metavar="UID")
    p.set_defaults(handler=card_block)


def enroll(ctx: Context, args: argparse.Namespace) -> int:
    """kiosk member enroll."""
    birthday = parse_date_input(args.birthday) if args.birthday else None
    if args.consent and not args.consent_version:
        raise InvalidInput("--consent needs --consent-version (the version of the text shown).")
    result = ctx.service().enroll(
        args.phone,
        client_txn_id=new_txn_id(args.txn),
        actor=CLI,
        name=args.name,
        birthday=birthday,
        card=args.card,
        consent_marketing=args.consent,
        consent_version=args.consent_version,
    )
    emit(ctx, result, f"enrolled {result.member_id}: {result.balance} points")
    return 0


def show(ctx: Context, args: argparse.Namespace) -> int:
    """kiosk member show."""
    member = ctx.find_member(args)
    service = ctx.service()
    summary = member_summary(service, member.member_id)
    member_read(service, member.member_id, actor=CLI)
    if ctx.json:
        emit(ctx, summary)
        return 0
    lines = [
        f"member:   {summary.member_id} ({summary.status})",
        f"phone:    {summary.phone_masked or '-'}",
        f"name:     {summary.name or '-'}",
        f"balance:  {summary.balance}",
        f"tier:     {summary.tier} ({summary.earned_in_window} earned in the window)",
    ]
    if summary.next_tier:
        lines.append(f"next:     {summary.next_tier} in {summary.points_to_next_tier} points")
    if summary.expiring_points:
        lines.append(f"expiring: {summary.expiring_points} by {summary.expiring_first_at}")
    for reward in summary.rewards:
        mark = "*" if reward.affordable else " "
        lines.append(f"  {mark} {reward.reward_id}: {reward.cost} points")
    emit(ctx, summary, "\n".join(lines))
    return 0


def erase(ctx: Context, args: argparse.Namespace) -> int:
    """kiosk member erase."""
    member = ctx.find_member(args)
    if not args.yes:
        if not sys.stdin.isatty():
            raise InvalidInput("Erasure needs --yes when not run at a terminal.")
        answer = input(f"Erase the personal data of member {member.member_id}? [y/N] ")
        if answer.strip().lower() not in {"y", "yes"}:
            print("nothing erased")
            return EXIT_FAILED
    from kiosk.appliance.backup import erase_from_backups

    ctx.service().erase(member.member_id, actor=CLI)
    # Backups taken before keep the person: they are erased there too (docs/security.md).
    try:
        rewritten = erase_from_backups(ctx.data_dir, keys=ctx.appliance.key_source())
    except StorageUnavailable as exc:
        # The erasure itself is recorded; say so, and what is still to do.
        print(
            f"kiosk: erased {member.member_id} here, but not yet in the backups "
            f"({exc.params.get('reason')}); the next `kiosk backup` erases them there",
            file=sys.stderr,
        )
        return EXIT_FAILED
    emit(
        ctx,
        {"member_id": member.member_id, "erased": True, "backups_rewritten": len(rewritten)},
        f"erased {member.member_id} (and in {len(rewritten)} backups)",
    )
    return 0


def import_cmd(ctx: Context, args: argparse.Namespace) -> int:
    """kiosk member import."""
    service = ctx.service()
    rows, problems = read_member_csv(args.file, service)
    for problem in problems:
        print(f"kiosk: {args.file}: {problem}", file=sys.stderr)
    if problems and not args.skip_bad:
        print(
            f"kiosk: {len(problems)} bad rows; nothing was imported (fix them, or use --skip-bad)",
            file=sys.stderr,
        )
        return EXIT_FAILED
    count = import_members(service, rows, actor=CLI)
    emit(
        ctx,
        {"imported": count, "skipped": len(problems)},
        f"imported {count} members, skipped {len(problems)} bad rows",
    )
    return 0


def export_cmd(ctx: Context, args: argparse.Namespace) -> int:
    """kiosk member export."""
    only = None
    if args.phone or args.card or args.member_id:
        only = ctx.find_member(args).member_id
    if args.output is None and readable_by_others(sys.stdout):
        raise InvalidInput(
            "The standard output is a file other users can read: use --output FILE "
            "(created readable by you only), or chmod 600 the file first."
        )
    service = ctx.service(create=False)
    if args.output is None:
        export_members(
            service, sys.stdout, actor=CLI, fmt=args.format, member_id=only, destination="stdout"
        )
    else:
        with private_file(args.output) as out:  # 0600 from its first byte
            count = export_members(service, out, actor=CLI, fmt=args.format, member_id=only)
        print(f"exported {count} members to {args.output}", file=sys.stderr)
    return 0


def card_link(ctx: Context, args: argparse.Namespace) -> int:
    """kiosk card link."""
    member = ctx.find_member(args)
    ctx.service().link_card(member.member_id, args.uid, actor=CLI)
    emit(ctx, {"member_id": member.member_id, "linked": True}, "card linked")
    return 0


def card_unlink(ctx: Context, args: argparse.Namespace) -> int:
    """kiosk card unlink."""
    ctx.service(create=False).unlink_card(args.uid, actor=CLI)
    emit(ctx, {"unlinked": True}, "card unlinked")
    return 0


def card_block(ctx: Context, args: argparse.Namespace) -> int:
    """kiosk card block."""
    ctx.service(create=False).block_card(args.uid, actor=CLI)
    out: dict[str, Any] = {"blocked": True}
    emit(ctx, out, "card blocked")
    return 0
