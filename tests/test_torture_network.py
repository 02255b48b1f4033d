"""The network part of the campaign, short: chaos in compressed time, and a counter that
never waits for a hung CRM."""

from __future__ import annotations

from pathlib import Path

from tests.torture.network import run


def test_every_fault_ends_with_the_same_ledger_and_the_counter_never_waits(tmp_path: Path):
    report = run("short", tmp_path)

    assert report.ok, report.problems
    figures = report.figures
    assert figures["chaos_entries_lost"] == figures["chaos_entries_duplicated"] == 0
    assert int(figures["chaos_faults_injected"]) >= 20
    assert figures["chaos_left_in_queue"] == 0
    assert float(figures["counter_slowest_purchase_ms"]) < 1000
