"""`python -m bench NAME [--quick | --smoke]`: run one benchmark (or `all`)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from bench import fleet, hub, ledger, panel, readers, sms, sync, ui
from bench.common import Scale

BENCHMARKS: dict[str, Callable[[Scale], int]] = {
    "ledger": ledger.main,
    "readers": readers.main,
    "ui": ui.main,
    "sync": sync.main,
    "fleet": fleet.main,
    "hub": hub.main,
    "panel": panel.main,
    "sms": sms.main,
}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("name", choices=[*BENCHMARKS, "all"])
    size = parser.add_mutually_exclusive_group()
    size.add_argument(
        "--quick", action="store_true", help="a smaller data set, figures still worth reading"
    )
    size.add_argument(
        "--smoke",
        action="store_true",
        help="the smallest data set that runs every step (tests/test_bench_smoke.py)",
    )
    args = parser.parse_args(argv)
    scale: Scale = "smoke" if args.smoke else "quick" if args.quick else "full"
    names = list(BENCHMARKS) if args.name == "all" else [args.name]
    status = 0
    for name in names:
        status |= BENCHMARKS[name](scale)
    return status


if __name__ == "__main__":
    sys.exit(main())
