"""Every change to the hub's models has its migration.

A model edited without one works in the tests that build tables from the migrations only
by luck, and an upgraded hub would lack the column or index. This asks Django's
`makemigrations --check` (nothing written), against the test database so it can also check
the migration history is consistent.
"""

from __future__ import annotations

import subprocess
import sys

from tests.hub.conftest import ROOT, Hub

CHECK = (
    "import django; django.setup(); "
    "from django.core.management import call_command; "
    "call_command('makemigrations', '--check', '--dry-run', verbosity=1)"
)


def test_no_model_change_is_missing_its_migration(hub: Hub):
    env = hub.env | {"DJANGO_SETTINGS_MODULE": "hub.settings"}
    done = subprocess.run(
        [sys.executable, "-W", "error::RuntimeWarning", "-c", CHECK],
        check=False,
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "No changes detected" in done.stdout
