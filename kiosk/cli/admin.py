"""`kiosk ledger|staff|config|audit|run`: the technician's commands."""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path
from typing import TextIO

from kiosk.cli.common import EXIT_FAILED, Context, common_options, emit, read_pin
from kiosk.config import config_to_dict, config_to_toml
from kiosk.core.store import audit
from kiosk.core.store.ledger import Entry
from kiosk.core.store.staff import CLI, ROLES
from kiosk.core.store.verify import verify_ledger


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ledger, staff, config, audit and run commands."""
    common = common_options()

    ledger = commands.add_parser("ledger", help="verify, export and expire the points ledger")
    sub = ledger.add_subparsers(dest="ledger_command", metavar="COMMAND", required=True)
    p = sub.add_parser(
        "verify",
        parents=[common],
        help="check the ledger's invariants",
        description="Check that balances equal the sum of entries, sequence numbers have no "
        "gaps and every reversal names an earlier entry reversed once. Exit 1 on a problem. "
        "Example: kiosk ledger verify --json",
    )
    p.set_defaults(handler=ledger_verify)
    p = sub.add_parser(
        "export",
        parents=[common],
        help="export every entry (no personal data)",
        description="Example: kiosk ledger export --format jsonl --output ledger.jsonl",
    )
    p.add_argument("--format", choices=("csv", "jsonl"), default="csv")
    p.add_argument("--output", type=Path, help="file to write (default: standard output)")
    p.set_defaults(handler=ledger_export)
    p = sub.add_parser(
        "expire",
        parents=[common],
        help="expire points whose date has passed",
        description="Example: kiosk ledger expire",
    )
    p.set_defaults(handler=ledger_expire)

    staff = commands.add_parser("staff", help="cashier, manager and technician accounts")
    sub = staff.add_subparsers(dest="staff_command", metavar="COMMAND", required=True)
    p = sub.add_parser(
        "add",
        parents=[common],
        help="add a staff account (PIN asked at a prompt)",
        description="The PIN is typed at a prompt (twice), never given as an argument. "
        "Example: kiosk staff add --name Sara --role cashier",
    )
    p.add_argument("--name", required=True)
    p.add_argument("--role", required=True, choices=ROLES)
    p.add_argument("--card", metavar="UID", help="link a staff card too")
    p.set_defaults(handler=staff_add)
    p = sub.add_parser(
        "list",
        parents=[common],
        help="list staff accounts",
        description="Example: kiosk staff list",
    )
    p.set_defaults(handler=staff_list)
    p = sub.add_parser(
        "set-pin",
        parents=[common],
        help="give a staff account a new PIN (asked at a prompt)",
        description="The PIN is typed at a prompt (twice). A trivial PIN (1111, 1234, 4321) "
        "or one another active account has is refused. Example: kiosk staff set-pin s-1a2b3c",
    )
    p.add_argument("staff_id", metavar="STAFF_ID")
    p.set_defaults(handler=staff_set_pin)
    p = sub.add_parser(
        "disable",
        parents=[common],
        help="disable a staff account",
        description="Example: kiosk staff disable s-1a2b3c",
    )
    p.add_argument("staff_id", metavar="STAFF_ID")
    p.set_defaults(handler=staff_disable)

    config = commands.add_parser("config", help="the effective configuration")
    sub = config.add_subparsers(dest="config_command", metavar="COMMAND", required=True)
    p = sub.add_parser(
        "show",
        parents=[common],
        help="print the effective config, secrets masked",
        description="Example: kiosk config show -o program.points=2",
    )
    p.set_defaults(handler=config_show)

    p = commands.add_parser(
        "audit",
        parents=[common],
        help="the latest staff actions",
        description="Example: kiosk audit --limit 20",
    )
    p.add_argument("--limit", type=int, default=50)
    p.set_defaults(handler=audit_list)

    p = commands.add_parser(
        "run",
        parents=[common],
        help="start the kiosk's touch app",
        description="Opens the touch app on the configured readers (fullscreen on a device). "
        "--sim: simulated readers, data under ./var. --console: the typed demo instead, "
        "for a terminal without a screen. Example: kiosk run --sim",
    )
    p.add_argument("--console", action="store_true", help="the typed console demo")
    p.set_defaults(handler=run)


def ledger_verify(ctx: Context, args: argparse.Namespace) -> int:
    """kiosk ledger verify."""
    report = verify_ledger(ctx.service(create=False).conn)
    data = {
        "ok": report.ok,
        "entries": report.entries,
        "members": report.members,
        "devices": report.devices,
        "problems": report.problems,
    }
    lines = [
        f"{'ok' if report.ok else 'PROBLEMS'}: {report.entries} entries, "
        f"{report.members} members, {report.devices} devices"
    ]
    lines += [f"  {problem}" for problem in report.problems]
    emit(ctx, data, "\n".join(lines))
    return 0 if report.ok else EXIT_FAILED


def ledger_export(ctx: Context, args: argparse.Namespace) -> int:
    """kiosk ledger export."""
    service = ctx.service(create=False)
    if args.output is None:
        _write_entries(service.ledger.entries(), sys.stdout, args.format)
    else:
        with args.output.open("w", encoding="utf-8", newline="") as out:
            count = _write_entries(service.ledger.entries(), out, args.format)
        print(f"exported {count} entries to {args.output}", file=sys.stderr)
    return 0


def _write_entries(entries: object, out: TextIO, fmt: str) -> int:
    count = 0
    columns = list(Entry.__dataclass_fields__)
    writer = csv.writer(out) if fmt == "csv" else None
    if writer is not None:
        writer.writerow(columns)
    for entry in entries:  # type: ignore[attr-defined]
        if writer is not None:
            writer.writerow([getattr(entry, c) for c in columns])
        else:
            out.write(json.dumps(entry.as_dict(), ensure_ascii=False) + "\n")
        count += 1
    return count


def ledger_expire(ctx: Context, args: argparse.Namespace) -> int:
    """kiosk ledger expire."""
    entries = ctx.service(create=False).expire_due(actor=CLI)
    points = -sum(e.points for e in entries)
    emit(
        ctx,
        {"expired_entries": len(entries), "points": points},
        f"expired {points} points in {len(entries)} lots",
    )
    return 0


def staff_add(ctx: Context, args: argparse.Namespace) -> int:
    """kiosk staff add."""
    service = ctx.service()
    pin = read_pin(f"New PIN for {args.name}: ", confirm=True)
    member = service.staff.add(name=args.name, role=args.role, pin=pin, actor=CLI)
    if args.card:
        service.link_staff_card(member.staff_id, args.card, actor=CLI)
    emit(ctx, member, f"added {member.staff_id} ({member.role})")
    return 0


def staff_list(ctx: Context, args: argparse.Namespace) -> int:
    """kiosk staff list."""
    people = ctx.service(create=False).staff.list()
    if ctx.json:
        emit(ctx, [s.__dict__ for s in people])
        return 0
    for s in people:
        state = "disabled" if s.disabled else "active"
        print(f"{s.staff_id}  {s.role:<10}  {state:<8}  {s.name}")
    return 0


def staff_set_pin(ctx: Context, args: argparse.Namespace) -> int:
    """kiosk staff set-pin."""
    service = ctx.service(create=False)
    pin = read_pin(f"New PIN for {args.staff_id}: ", confirm=True)
    service.staff.set_pin(args.staff_id, pin, actor=CLI)
    emit(ctx, {"staff_id": args.staff_id, "pin_set": True}, f"new PIN set for {args.staff_id}")
    return 0


def staff_disable(ctx: Context, args: argparse.Namespace) -> int:
    """kiosk staff disable."""
    ctx.service(create=False).staff.disable(args.staff_id, actor=CLI)
    emit(ctx, {"staff_id": args.staff_id, "disabled": True}, f"disabled {args.staff_id}")
    return 0


def config_show(ctx: Context, args: argparse.Namespace) -> int:
    """kiosk config show."""
    if ctx.json:
        emit(ctx, config_to_dict(ctx.config))
    else:
        print(config_to_toml(ctx.config), end="")
    return 0


def audit_list(ctx: Context, args: argparse.Namespace) -> int:
    """kiosk audit."""
    records = audit.recent(ctx.service(create=False).conn, args.limit)
    if ctx.json:
        emit(ctx, [r.__dict__ for r in records])
        return 0
    for r in records:
        print(f"{r.at}  {r.actor:<10} {r.action:<14} {r.outcome:<10} {r.target or ''}")
    return 0


def run(ctx: Context, args: argparse.Namespace) -> int:
    """kiosk run: the touch app, or with --console the typed demo, on the configured readers."""
    if args.console:
        return _run_console(ctx)
    return ctx.appliance.run_touch_app()


def _run_console(ctx: Context) -> int:
    """The console demo, with the configured card readers feeding it taps."""
    import queue
    import threading

    from drivers.base import CardPresented, ReaderEvent, ReaderStatusChanged
    from kiosk.appliance.demo import run_console_demo

    service = ctx.service()
    lines: queue.Queue[str | None] = queue.Queue()
    readers = ctx.appliance.readers()

    def on_event(event: ReaderEvent) -> None:
        # Reader threads only queue lines: the service is used from this thread alone.
        if isinstance(event, CardPresented):
            lines.put(f"card {event.uid}")
        elif isinstance(event, ReaderStatusChanged):
            hint = f" ({event.hint})" if event.hint else ""
            print(f"[{event.reader}] {event.state}: {event.message}{hint}", flush=True)

    def pump() -> None:
        for line in sys.stdin:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=pump, name="stdin", daemon=True).start()
    readers.start(on_event)
    try:
        return run_console_demo(service, iter(lines.get, None), sys.stdout)
    finally:
        readers.stop()
