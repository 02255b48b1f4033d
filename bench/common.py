"""What every benchmark shares: timing loops, percentiles and the JSON line it prints."""

from __future__ import annotations

import json
import os
import resource
import statistics
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, Literal

# Generated data sets and each run's copies; BENCH_CACHE puts them elsewhere (a disk with
# room for the full ledger's 4 GB, or a test's temporary folder).
CACHE = Path(os.environ.get("BENCH_CACHE") or Path(__file__).resolve().parent / ".cache")

# The size of a run: the full benchmark, `--quick` (a smaller data set, figures still worth
# reading) or `--smoke` (the smallest that runs every step: proves it runs, in seconds).
Scale = Literal["full", "quick", "smoke"]


def timings(work: Callable[[Any], object], inputs: Iterable[Any]) -> list[float]:
    """Seconds each call of `work(item)` took, one per input."""
    clock = time.perf_counter
    out = []
    for item in inputs:
        start = clock()
        work(item)
        out.append(clock() - start)
    return out


def percentile(values: list[float], pct: float) -> float:
    """The `pct` percentile (0-100) of `values` (inclusive method)."""
    if len(values) == 1:
        return values[0]
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return cuts[round(pct) - 1] if pct < 100 else max(values)


def peak_rss_mb() -> float:
    """This process's peak resident memory in MiB, since it started (exec'd).

    From /proc/self/status's VmHWM, which belongs to this process's own address space:
    getrusage's ru_maxrss (and wait4's) carries over the parent's peak at fork, so a child
    started by a large parent would report the parent's memory.
    """
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def report(
    name: str,
    value: float,
    unit: str,
    reference: float,
    *,
    aim: str | None = None,
    note: str | None = None,
) -> dict[str, Any]:
    """Print one figure as a JSON line and return it."""
    line: dict[str, Any] = {
        "name": name,
        "value": round(value, 3),
        "unit": unit,
        "reference": round(reference, 3),
        "ratio": round(value / reference, 3) if reference else None,
    }
    if aim is not None:
        line["aim"] = aim
    if note is not None:
        line["note"] = note
    print(json.dumps(line, ensure_ascii=False), flush=True)
    return line


def progress(text: str) -> None:
    """A line for the person waiting, on stderr so stdout stays JSON."""
    print(f"bench: {text}", file=sys.stderr, flush=True)
