"""The campaign's log scan finds the personal data it used, in any form, and nothing else."""

from __future__ import annotations

from pathlib import Path

from kiosk.bootstrap import Appliance
from tests.conftest import make_config
from tests.torture.__main__ import scan_logs


def test_the_scan_finds_a_phone_or_card_written_to_a_log_and_passes_a_clean_one(
    tmp_path: Path,
):
    service = Appliance(make_config(), tmp_path / "part" / "data").open_service()
    service.enroll("09121234567", client_txn_id="e-1", card="1A2B3C4D")
    service.close()
    clean = tmp_path / "clean.log"
    clean.write_text("INFO sync.worker: pushed 20 entries at 2026-11-23 11:44:05\n")
    leaky = [tmp_path / f"leak{i}.log" for i in range(3)]
    leaky[0].write_text("WARNING x: member 9121234567 not found\n")
    leaky[1].write_text("INFO y: card 1a2b3c4d tapped\n")
    leaky[2].write_text("ERROR z: +989121234567\n")

    assert scan_logs(tmp_path, [clean]).ok
    for leak in leaky:
        report = scan_logs(tmp_path, [clean, leak])
        assert not report.ok and report.figures["lines with personal data"] == 1, leak.name
