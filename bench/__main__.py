"""`python -m bench NAME [--quick]`: run one benchmark (or `all`)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from bench import fleet, ledger, readers, sync, ui

BENCHMARKS: dict[str, Callable[[bool], int]] = {
    "ledger": ledger.main,
    "readers": readers.main,
    "ui": ui.main,
    "sync": sync.main,
    "fleet": fleet.main,
}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("name", choices=[*BENCHMARKS, "all"])
    parser.add_argument("--quick", action="store_true", help="a smaller data set, for a smoke run")
    args = parser.parse_args(argv)
    names = list(BENCHMARKS) if args.name == "all" else [args.name]
    status = 0
    for name in names:
        status |= BENCHMARKS[name](args.quick)
    return status


if __name__ == "__main__":
    sys.exit(main())
