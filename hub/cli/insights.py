"""`hub insights ...`: keeping the panel's figures' rollups current (docs/panel.md).

hub insights work               # systemd's ExecStart: a round a minute, the reports nightly
hub insights refresh            # the noted days and the points held, now
hub insights refresh --reports  # and the tiers and RFM reports of every scope
hub insights refresh --all      # everything from scratch (after a bulk load)
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
import time
from types import FrameType
from typing import Any

from hub.insights import rollup, upkeep


def register(commands: Any) -> None:
    """Add `insights`."""
    insights = commands.add_parser(
        "insights", help="the rollups the panel's figures are read from"
    ).add_subparsers(dest="action", required=True, metavar="ACTION")
    work = insights.add_parser("work", help="keep them current until stopped (SIGTERM)")
    work.set_defaults(handler=insights_work)
    refresh = insights.add_parser("refresh", help="work them out now")
    refresh.add_argument(
        "--reports", action="store_true", help="the tiers and RFM reports of every scope too"
    )
    refresh.add_argument("--all", action="store_true", help="everything, from scratch")
    refresh.set_defaults(handler=insights_refresh)


def insights_refresh(args: argparse.Namespace) -> int:
    """One refresh, with what it did and how long it took."""
    started = time.perf_counter()
    if args.all:
        upkeep.rebuild()
        print(f"rebuilt in {time.perf_counter() - started:.1f} s")
        return 0
    days = rollup.refresh_days()
    rollup.refresh_liability()
    made = upkeep.refresh_snapshots() if args.reports else 0
    print(f"{days} days worked out, {made} reports made in {time.perf_counter() - started:.1f} s")
    return 0


def insights_work(args: argparse.Namespace) -> int:
    """Rounds until SIGTERM or SIGINT."""
    logging.getLogger("hub").setLevel(logging.INFO)
    stop = threading.Event()

    def stopping(signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, stopping)
    signal.signal(signal.SIGINT, stopping)
    print("keeping the panel's rollups", file=sys.stderr, flush=True)
    upkeep.work(stop)
    print("stopped", file=sys.stderr, flush=True)
    return 0
