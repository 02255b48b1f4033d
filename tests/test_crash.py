"""Power cuts: a writer killed with SIGKILL at random moments loses no acknowledged entry."""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

from kiosk.cli import main as kiosk_main
from kiosk.core.store.verify import verify_ledger

KILLS = int(os.environ.get("KIOSK_CRASH_KILLS", "40"))
ROOT = Path(__file__).resolve().parent.parent


def test_sigkill_loses_no_acknowledged_entry_and_the_ledger_verifies(tmp_path, capsys):
    data_dir = tmp_path / "data"
    rng = random.Random(20261123)
    acknowledged: list[str] = []

    for run in range(KILLS):
        child = subprocess.Popen(
            [sys.executable, "-m", "tests.crash_writer", str(data_dir), f"run{run}"],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "ready"
        for _ in range(rng.randint(0, 25)):
            line = child.stdout.readline().strip()
            if line:
                acknowledged.append(line)
        child.send_signal(signal.SIGKILL)
        child.wait()
        child.stdout.close()

        conn = sqlite3.connect(data_dir / "kiosk.db")
        found = {row[0] for row in conn.execute("SELECT entry_id FROM entries")}
        report = verify_ledger(conn)
        integrity = conn.execute("PRAGMA integrity_check").fetchone()[0]
        conn.close()
        assert set(acknowledged) <= found, f"run {run}: acknowledged entries lost"
        assert report.ok, f"run {run}: {report.problems}"
        assert integrity == "ok"

    assert len(acknowledged) > KILLS  # the kills really fell among the writes
    assert kiosk_main(["ledger", "verify", "--data-dir", str(data_dir), "--json"]) == 0
    assert '"ok": true' in capsys.readouterr().out
