"""The crash torture, short: the store day and the sync worker SIGKILLed about 20 times."""

from __future__ import annotations

from pathlib import Path

from tests.torture.crash import run


def test_kills_lose_nothing_double_nothing_and_the_crm_ends_equal(tmp_path: Path) -> None:
    report = run("short", tmp_path)
    figures = report.figures

    assert report.ok, report.problems
    assert int(figures["kills"]) >= 20
    assert int(figures["kills_of_the_store_day"]) > 0
    assert int(figures["kills_of_the_worker"]) > 0
    assert figures["lost"] == 0
    assert figures["duplicated"] == 0
    assert figures["ledger_verify_failures"] == 0
    assert figures["integrity_failures"] == 0
    assert figures["crm_ledger_equals_kiosk"] == "yes"
    assert figures["entries_at_the_crm"] == figures["entries_written"]
    # The kills fell among the writes, not before the first or after the last.
    assert int(figures["entries_acknowledged"]) > int(figures["kills"])
    assert report.logs and all(path.parent == tmp_path for path in report.logs)
