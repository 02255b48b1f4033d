"""Every benchmark runs to the end and prints each of its figures (`python -m bench NAME --smoke`).

The smoke size is the smallest data set that still runs every step of a benchmark (its own
generated data, in a temporary cache: never the full ledger's 4 GB). Nothing about timing
is asserted: the figures are read, not tested. A benchmark that cannot run here for a
reason outside the project (no OpenGL for Kivy, no NFC library) skips and says why.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bench import ledger, sync, ui
from bench.__main__ import BENCHMARKS

ROOT = Path(__file__).resolve().parent.parent
RUN_SECONDS = 600  # a safety limit for a hung run; a smoke run takes seconds

# The figures each benchmark prints, by name (bench/README.md), at the smoke size.
FIGURES: dict[str, list[str]] = {
    "ledger": [
        "lookup_by_card_p50",
        "lookup_by_card_p99",
        "lookup_by_phone_p50",
        "lookup_by_phone_p99",
        "durable_earn_p50",
        "durable_earn_p99",
        "durable_earn_two_offers_p50",
        "durable_earn_two_offers_p99",
        "durable_earn_two_offers_badges_p50",
        "durable_earn_two_offers_badges_p99",
        "encryption_lookup_by_card_p50",
        "encryption_lookup_by_card_p99",
        "encryption_lookup_by_phone_p50",
        "encryption_lookup_by_phone_p99",
        f"summary_{ledger.SMOKE.entries}_vs_10000_entries_p50",
        f"summary_{ledger.SMOKE.entries}_vs_10000_entries_p99",
        f"summary_member_with_{ledger.SMOKE.heavy}_entries_p50",
        "peak_rss",
    ],
    "readers": [
        f"{driver}_present_{pct}"
        for driver in ("sim", "serial_rdm6300", "serial_line", "nfc_udp")
        for pct in ("p50", "p99")
    ],
    "ui": [
        "tap_to_member_frame_p50",
        "tap_to_member_frame_p95",
        "cold_start_to_attract",
        f"rss_growth_{ui.SMOKE.transactions}_vs_{ui.RSS_FIRST}_transactions",
    ],
    "sync": [
        "sync_drain_throughput",
        f"sync_peak_rss_draining_{sync.SMOKE.memory_entries}_entries",
        "sync_rss_growth_10_to_100_percent",
    ],
    "fleet": [
        "fleet_peak_retry_rate_during_outage",
        "fleet_peak_request_rate_after_recovery",
        "fleet_drain_time_after_recovery",
    ],
    "hub": [
        "hub_ingest_entries_per_s",
        "hub_push_p99_under_load",
        "hub_hold_p99_under_load",
        "hub_worker_peak_rss",
        "hub_worker_rss_growth_10_to_100_percent",
    ],
    "panel": [
        "panel_dashboard_p95",
        "panel_dashboard_branch_p95",
        "panel_by_day_p95",
        "panel_rewards_p95",
        "panel_tiers_p95",
        "panel_rfm_p95",
        "panel_inactive_p95",
        "panel_birthdays_p95",
        "panel_member_search_by_phone_p99",
        "panel_rollup_round_ms",
        "panel_nightly_reports_s",
    ],
    "sms": ["sms_queue_per_s", "sms_send_per_s", "sms_worker_peak_rss", "sms_queue_peak_rss"],
}
# The readers benchmark's progress line when nfcpy cannot be imported (it skips NFC then).
NFC_MISSING = "bench: NFC: skipped"
# The hub's, the panel's and the SMS queue's line when PostgreSQL cannot be had (no figures then).
HUB_SKIPPED = ("bench: hub: skipped", "bench: panel: skipped", "bench: sms: skipped")


def _environment(name: str, tmp_path: Path) -> dict[str, str]:
    env = dict(os.environ, BENCH_CACHE=str(tmp_path / "cache"))
    if name == "ui":
        kivy_home = tmp_path / "kivy-home"
        kivy_home.mkdir()
        env.update(SDL_VIDEODRIVER="offscreen", KIVY_NO_ARGS="1", KIVY_HOME=str(kivy_home))
    return env


def _skip_without_a_window(env: dict[str, str]) -> None:
    # Kivy exits the process when it cannot open a window: find out in a child first.
    probe = "from kivy.core.window import Window; import sys; sys.exit(0 if Window else 3)"
    result = subprocess.run(
        [sys.executable, "-c", probe],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if result.returncode != 0:
        last = (result.stderr.strip().splitlines() or ["no output"])[-1]
        pytest.skip(
            "Kivy cannot open a window here (SDL offscreen needs Mesa's OpenGL: "
            f"apt-get install libgl1 libegl1 libgl1-mesa-dri): {last}"
        )


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def test_every_benchmark_has_its_figures_listed_here():
    assert set(FIGURES) == set(BENCHMARKS)


@pytest.mark.timeout(RUN_SECONDS + 180)
@pytest.mark.parametrize("name", list(BENCHMARKS))
def test_benchmark_runs_to_the_end_and_prints_every_figure(name: str, tmp_path: Path):
    env = _environment(name, tmp_path)
    if name == "ui":
        _skip_without_a_window(env)
    run = subprocess.run(
        [sys.executable, "-m", "bench", name, "--smoke"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=RUN_SECONDS,
        check=False,
    )
    assert run.returncode == 0, f"`python -m bench {name} --smoke` failed:\n{run.stderr[-4000:]}"
    skipped = [line for line in run.stderr.splitlines() if line.startswith(HUB_SKIPPED)]
    if name in ("hub", "panel", "sms") and skipped:
        if os.environ.get("CI"):
            pytest.fail(skipped[0])  # CI installs PostgreSQL (.ci/run)
        pytest.skip(skipped[0])

    # stdout is figures only, one JSON object a line (progress goes to stderr).
    figures: dict[str, dict[str, Any]] = {}
    for line in run.stdout.splitlines():
        figure = json.loads(line)
        assert figure["name"] not in figures, f"{figure['name']} printed twice"
        figures[figure["name"]] = figure
    expected = FIGURES[name]
    nfc_missing = [line for line in run.stderr.splitlines() if line.startswith(NFC_MISSING)]
    if name == "readers" and nfc_missing:
        expected = [figure for figure in expected if not figure.startswith("nfc_")]
    assert sorted(figures) == sorted(expected)

    for figure in figures.values():
        where = f"{figure['name']}: {figure}"
        assert _number(figure["value"]), where
        assert isinstance(figure["unit"], str) and figure["unit"], where
        # Every figure is measured against a reference in the same run; the ratio is
        # undefined only when the reference is exactly zero (e.g. no memory growth at all).
        assert _number(figure["reference"]), where
        if figure["reference"] != 0:
            assert _number(figure["ratio"]), where
        else:
            assert figure["ratio"] is None, where
        # sync and fleet write a drain that fell short into the note instead of stopping.
        assert "FAILED" not in figure.get("note", ""), where

    if name == "readers" and nfc_missing:
        pytest.skip(f"the NFC figures were not measured: {nfc_missing[0]}")
