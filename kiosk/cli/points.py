"""`kiosk quote|earn|redeem|void|adjust|coupon`: changes of points from the command line."""

from __future__ import annotations

import argparse

from kiosk.cli.common import (
    Context,
    add_member_selector,
    common_options,
    emit,
    fail,
    new_txn_id,
    read_pin,
)
from kiosk.core.store.staff import CLI, Actor
from kiosk.errors import ManagerApprovalRequired
from kiosk.text.money import Unit, parse_amount, to_unit


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the points commands."""
    common = common_options()

    def amount_options(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--amount",
            required=True,
            help="purchase amount, in the unit the cashiers type (money.entry_unit) unless --unit",
        )
        p.add_argument(
            "--unit",
            choices=("rial", "toman"),
            default=None,
            help="the amount's unit (default: money.entry_unit, as at the counter)",
        )

    p = commands.add_parser(
        "quote",
        parents=[common],
        help="the points a purchase would earn, with the reasons",
        description="Example: kiosk quote --phone 09121234567 --amount 2500000",
    )
    add_member_selector(p)
    amount_options(p)
    p.set_defaults(handler=quote)

    p = commands.add_parser(
        "earn",
        parents=[common],
        help="record a purchase and award its points",
        description="Record a purchase. A purchase above the program's threshold needs "
        "--approved-by MANAGER_ID (the manager's PIN is asked at a prompt). "
        "Example: kiosk earn --card 04A23B4C --amount 2500000 --txn till-1-0042",
    )
    add_member_selector(p)
    amount_options(p)
    p.add_argument("--txn", help="client transaction id (a retry with the same id is a no-op)")
    p.add_argument("--approved-by", metavar="MANAGER_ID", help="manager approving a large purchase")
    p.set_defaults(handler=earn)

    p = commands.add_parser(
        "redeem",
        parents=[common],
        help="spend points on a reward; prints the coupon code",
        description="Example: kiosk redeem --phone 09121234567 --reward coffee",
    )
    add_member_selector(p)
    p.add_argument("--reward", required=True, metavar="REWARD_ID")
    p.add_argument("--txn", help="client transaction id (a retry with the same id is a no-op)")
    p.set_defaults(handler=redeem)

    p = commands.add_parser(
        "void",
        parents=[common],
        help="reverse one purchase or redemption, once",
        description="A redemption's void needs --approved-by MANAGER_ID (the manager's PIN "
        "is asked at a prompt; not the manager who redeemed) and makes its coupon void. "
        "Example: kiosk void 6f1c... --reason 'typed the wrong amount'",
    )
    p.add_argument("entry_id", metavar="ENTRY_ID")
    p.add_argument("--reason", required=True)
    p.add_argument("--txn", help="client transaction id (a retry with the same id is a no-op)")
    p.add_argument(
        "--approved-by", metavar="MANAGER_ID", help="manager approving a redemption's void"
    )
    p.set_defaults(handler=void)

    p = commands.add_parser(
        "coupon",
        parents=[common],
        help="a coupon by its code: its reward, when it was issued, whether it is void",
        description="Exit 1 for a void or unknown coupon. Example: kiosk coupon 7KQ2M9XA",
    )
    p.add_argument("code", metavar="CODE")
    p.set_defaults(handler=coupon)

    p = commands.add_parser(
        "adjust",
        parents=[common],
        help="correct a balance by hand, with a reason",
        description="Example: kiosk adjust --phone 09121234567 --points 50 --reason 'goodwill'",
    )
    add_member_selector(p)
    p.add_argument("--points", type=int, required=True, help="points to add (negative: take)")
    p.add_argument("--reason", required=True)
    p.add_argument("--txn", help="client transaction id (a retry with the same id is a no-op)")
    p.set_defaults(handler=adjust)


def _amount(ctx: Context, args: argparse.Namespace) -> tuple[int, Unit]:
    """The amount in rial, and the unit it was typed in: the counter's unless --unit says."""
    unit: Unit = args.unit or ctx.config.money.entry_unit
    return parse_amount(args.amount, unit), unit


def _money(rial: int, unit: Unit) -> str:
    """An amount as typed and as stored, so that a slip of ten is seen: 250,000 toman
    (2,500,000 rial)."""
    value = to_unit(rial, unit)
    shown = f"{value:,.0f}" if value == value.to_integral_value() else f"{value:,}"
    typed = f"{shown} {unit}"
    return typed if unit == "rial" else f"{typed} ({rial:,} rial)"


def quote(ctx: Context, args: argparse.Namespace) -> int:
    """kiosk quote."""
    amount, unit = _amount(ctx, args)
    member = ctx.find_member(args)
    result = ctx.service().quote(member.member_id, amount)
    lines = [f"{result.points} points for {_money(amount, unit)} (tier {result.tier})"]
    lines += [f"  {line.code}: {line.points:+d}" for line in result.lines]
    if result.needs_manager:
        lines.append("  needs a manager's approval")
    if result.refusal:
        lines.append(f"  refused: {result.refusal_message}")
    emit(ctx, result, "\n".join(lines))
    return 0


def earn(ctx: Context, args: argparse.Namespace) -> int:
    """kiosk earn."""
    amount, unit = _amount(ctx, args)
    member = ctx.find_member(args)
    service = ctx.service()
    approver: Actor | None = None
    if args.approved_by:
        approver = service.staff.login_with_pin(
            read_pin(f"PIN of {args.approved_by}: "), args.approved_by
        )
    try:
        result = service.earn(
            member.member_id,
            amount,
            cashier=CLI,
            client_txn_id=new_txn_id(args.txn),
            approved_by=approver,
        )
    except ManagerApprovalRequired as needed:
        # Said in the unit the amount was typed in: "above 5,000,000 toman", not the rial.
        rial = int(needed.params.get("threshold", 0))
        raise ManagerApprovalRequired(
            f"A purchase above {_money(rial, unit)} needs a manager's approval: "
            "add --approved-by MANAGER_ID.",
            threshold=rial,
        ) from None
    text = (
        f"purchase of {_money(amount, unit)}: +{result.points} points, "
        f"balance {result.balance} (entry {result.entry_id})"
    )
    for bonus in result.bonuses:
        text += f"\n+{bonus.points} {bonus.reason} bonus"
    emit(ctx, result, text)
    return 0


def redeem(ctx: Context, args: argparse.Namespace) -> int:
    """kiosk redeem."""
    member = ctx.find_member(args)
    result = ctx.service().redeem(
        member.member_id, args.reward, cashier=CLI, client_txn_id=new_txn_id(args.txn)
    )
    emit(
        ctx,
        result,
        f"coupon {result.coupon_code}: {result.points} points, balance {result.balance}",
    )
    return 0


def void(ctx: Context, args: argparse.Namespace) -> int:
    """kiosk void."""
    service = ctx.service(create=False)
    approver: Actor | None = None
    if args.approved_by:
        approver = service.staff.login_with_pin(
            read_pin(f"PIN of {args.approved_by}: "), args.approved_by
        )
    result = service.void(
        args.entry_id,
        reason=args.reason,
        cashier=CLI,
        client_txn_id=new_txn_id(args.txn),
        approved_by=approver,
    )
    emit(
        ctx,
        result,
        f"voided {result.reversed_entry_id}: {result.points:+d}, balance {result.balance}",
    )
    return 0


def coupon(ctx: Context, args: argparse.Namespace) -> int:
    """kiosk coupon."""
    found = ctx.service(create=False).coupon(args.code)
    if found is None:
        emit(ctx, {"code": args.code, "found": False}, "no coupon has this code")
        # Exit 1 is "do not honour it": said on stderr too, where a script's log looks.
        return fail(ctx, "coupon.unknown", "no coupon has this code: do not honour it")
    state = f"VOID since {found.voided_at}" if found.void else "valid"
    text = f"coupon {found.code}: {found.reward_id}, issued {found.issued_at}, {state}"
    emit(ctx, found, text)
    if found.void:
        message = "this coupon is void (its redemption was voided): do not honour it"
        return fail(ctx, "coupon.void", message)
    return 0


def adjust(ctx: Context, args: argparse.Namespace) -> int:
    """kiosk adjust."""
    member = ctx.find_member(args)
    result = ctx.service().adjust(
        member.member_id,
        args.points,
        reason=args.reason,
        actor=CLI,
        client_txn_id=new_txn_id(args.txn),
    )
    emit(ctx, result, f"{result.points:+d} points, balance {result.balance}")
    return 0
