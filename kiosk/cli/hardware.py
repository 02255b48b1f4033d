"""`kiosk reader test` and `kiosk sim tap`: the technician's view of the card readers."""

from __future__ import annotations

import argparse
import json
import queue
import signal
import time
from pathlib import Path
from types import FrameType

from kiosk.cli.common import EXIT_FAILED, Context, common_options, fail


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the reader and sim commands."""
    common = common_options()
    reader = commands.add_parser("reader", help="card readers")
    sub = reader.add_subparsers(dest="reader_command", metavar="COMMAND", required=True)
    p = sub.add_parser(
        "test",
        parents=[common],
        help="open the configured readers and print every event",
        description="Open the readers of the config (readers.urls) and print every card and "
        "every status change, with a hint when something is wrong, until Ctrl-C. "
        "Example: kiosk reader test -o 'readers.urls=[\"serial:/dev/ttyUSB0\"]' --count 1",
    )
    p.add_argument("--count", type=int, metavar="N", help="stop after N cards")
    p.add_argument("--seconds", type=float, metavar="S", help="stop after S seconds")
    p.set_defaults(handler=reader_test)

    sim = commands.add_parser("sim", help="drive the simulated hardware of a running kiosk")
    sub = sim.add_subparsers(dest="sim_command", metavar="COMMAND", required=True)
    p = sub.add_parser(
        "tap",
        parents=[common],
        help="present a card to a kiosk running in simulator mode",
        description="Send a card to the simulated reader (`sim:`) of a kiosk running on the "
        "same data directory, as if it were tapped. Example: kiosk sim tap 1A2B3C4D --sim",
    )
    p.add_argument("uid", metavar="UID")
    p.add_argument("--hold", action="store_true", help="leave the card in the field")
    p.set_defaults(handler=sim_tap)
    p = sub.add_parser(
        "remove",
        parents=[common],
        help="take a held card away",
        description="Example: kiosk sim remove --sim",
    )
    p.set_defaults(handler=sim_remove)
    p = sub.add_parser(
        "crm",
        parents=[common],
        help="run the simulated CRM (docs/sync-protocol.md) in the foreground",
        description="Serves the sync protocol on 127.0.0.1:PORT, stores in SQLite (--db, "
        "default: in memory) and injects faults by name (--faults, see sim/crm.py). "
        "Example: kiosk sim crm --port 8480 --faults 5xx=0.2,latency=0.05",
    )
    p.add_argument("--port", type=int, default=8480)
    p.add_argument("--db", type=Path, help="SQLite file to keep the CRM's data in")
    p.add_argument("--faults", default="", metavar="SPEC", help="e.g. 5xx=0.3,reset=0.1,seed=7")
    p.set_defaults(handler=sim_crm)


def reader_test(ctx: Context, args: argparse.Namespace) -> int:
    """kiosk reader test."""
    from drivers.base import CardPresented, ReaderEvent, ReaderStatusChanged

    urls = ctx.appliance.reader_urls()
    if not urls:
        return fail(ctx, "no_readers", "no readers are configured (readers.urls is empty)")
    events: queue.Queue[ReaderEvent | None] = queue.Queue()
    readers = ctx.appliance.readers()

    def stop(signum: int, frame: FrameType | None) -> None:
        events.put(None)

    previous = signal.signal(signal.SIGTERM, stop)
    deadline = None if args.seconds is None else time.monotonic() + args.seconds
    cards = 0
    last: dict[str, ReaderStatusChanged] = {}
    readers.start(events.put)
    try:
        while args.count is None or cards < args.count:
            wait = None if deadline is None else max(0.0, deadline - time.monotonic())
            try:
                event = events.get(timeout=wait)
            except queue.Empty:
                break
            if event is None:
                break
            cards += isinstance(event, CardPresented)
            if isinstance(event, ReaderStatusChanged):
                last[event.reader] = event
            print_event(ctx, event)
    except KeyboardInterrupt:
        pass
    finally:
        readers.stop()
        signal.signal(signal.SIGTERM, previous)
    # A reader that ended in trouble and gave no card: the technician has work to do.
    failing = [s for s in last.values() if s.state != "connected"]
    return EXIT_FAILED if failing and cards == 0 else 0


def print_event(ctx: Context, event: object) -> None:
    """One line per event: JSON with --json."""
    from drivers.base import CardPresented, CardRemoved, ReaderStatusChanged

    if isinstance(event, CardPresented):
        data = {"event": "card", "uid": event.uid, "technology": event.technology}
        text = f"card     {event.uid} ({event.technology})"
    elif isinstance(event, CardRemoved):
        data = {"event": "removed", "uid": event.uid}
        text = f"removed  {event.uid}"
    elif isinstance(event, ReaderStatusChanged):
        data = {"event": "status", "state": str(event.state), "message": event.message}
        if event.hint:
            data["hint"] = event.hint
        text = f"{event.state:<8} {event.message}" + (f" -- {event.hint}" if event.hint else "")
    else:  # pragma: no cover
        return
    reader = getattr(event, "reader", "")
    if ctx.json:
        print(json.dumps({"reader": reader, **data}, ensure_ascii=False), flush=True)
    else:
        print(f"[{reader}] {text}", flush=True)


def _send(ctx: Context, line: str) -> int:
    from sim.reader import send_control
    from sim.schemes import SIM_SOCKET

    path = ctx.data_dir / SIM_SOCKET
    try:
        answer = send_control(path, line)
    except (FileNotFoundError, ConnectionRefusedError):
        return fail(
            ctx,
            "no_sim_kiosk",
            f"no kiosk in simulator mode is running on {ctx.data_dir} (start one with make run)",
        )
    except OSError as exc:
        return fail(ctx, "no_sim_kiosk", f"cannot reach the simulated reader: {exc}")
    if answer != "ok":
        return fail(ctx, "invalid_card_uid", answer.removeprefix("error: "))
    if ctx.json:
        print(json.dumps({"sent": line}))
    return 0


def sim_tap(ctx: Context, args: argparse.Namespace) -> int:
    """kiosk sim tap."""
    return _send(ctx, f"{'present' if args.hold else 'tap'} {args.uid}")


def sim_remove(ctx: Context, args: argparse.Namespace) -> int:
    """kiosk sim remove."""
    return _send(ctx, "remove")


def sim_crm(ctx: Context, args: argparse.Namespace) -> int:
    """kiosk sim crm."""
    from sim.crm import serve
    from sim.crm_faults import Faults

    try:
        faults = Faults.parse(args.faults)
    except ValueError as exc:
        return fail(ctx, "bad_faults", f"--faults: {exc}")
    serve(args.port, args.db, faults)
    return 0
