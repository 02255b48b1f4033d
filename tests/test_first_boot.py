"""First boot: the touch app and `kiosk sync` open a new database at the same moment."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

OPEN = (
    "import sys; from pathlib import Path; from kiosk.bootstrap import Appliance; "
    "from tests.conftest import make_config; "
    "Appliance(make_config(), Path(sys.argv[1])).open_service().close()"
)
ROOT = Path(__file__).resolve().parent.parent


def test_two_processes_migrating_a_new_database_together_both_open_it(tmp_path: Path):
    """Found by the crash torture: sqlite-utils decides what is pending outside any lock,
    so both ran the migrations and one failed ("table ... already exists", "database is
    locked") in about half the trials. Migrations now run under a file lock."""
    failures = []
    for trial in range(8):
        data = tmp_path / f"trial{trial}"
        children = [
            subprocess.Popen(
                [sys.executable, "-c", OPEN, str(data)],
                cwd=ROOT,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(3)
        ]
        for child in children:
            _, errors = child.communicate(timeout=60)
            if child.returncode != 0:
                failures.append(errors.strip().splitlines()[-1])

    assert failures == []
