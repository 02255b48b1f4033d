"""The hub's systemd units (hub/systemd/): one per long-running command, hardened, verified.

Every `work` command of the hub's CLI and `hub serve` has a unit; each runs as the hub's
own user, restarts on failure, writes nowhere but the data directory, and passes
`systemd-analyze verify` (skipped, saying why, where systemd-analyze is missing or cannot
run). The kiosk's units are tests/test_install.py's.
"""

from __future__ import annotations

import itertools
import json
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.test_install import analyzer, verify_problems

__all__ = ["analyzer"]

ROOT = Path(__file__).resolve().parents[2]
UNITS = ROOT / "hub" / "systemd"
HUB = "/opt/loyalty-hub/venv/bin/hub"
SERVICES = sorted(p.name for p in UNITS.glob("*.service"))
DATA_DIR = "/var/lib/loyalty-hub"
# Every long-running command of the hub: `serve` and each `... work` (found in the CLI).
_FIND_WORKERS = """
import argparse, json, os
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hub.settings")
import django
django.setup()
from hub.cli import commands

def walk(parser, path):
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from walk(sub, path + [name])
    if path and path[-1] in ("work", "serve"):
        yield " ".join(path)

print(json.dumps(sorted(set(walk(commands.build_parser(), [])))))
"""


def settings_of(unit: str) -> list[tuple[str, str, str]]:
    """(section, key, value) of each setting, in order (a key may come more than once)."""
    found: list[tuple[str, str, str]] = []
    section = ""
    for raw in (UNITS / unit).read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            section = line.strip("[]")
            continue
        key, _, value = line.partition("=")
        found.append((section, key.strip(), value.strip()))
    return found


def value(unit: str, key: str, section: str = "Service") -> str:
    values = [v for s, k, v in settings_of(unit) if (s, k) == (section, key)]
    assert len(values) == 1, (unit, key, values)
    return values[0]


def command_of(unit: str) -> list[str]:
    argv = shlex.split(value(unit, "ExecStart"))
    assert argv[0] == HUB, argv
    return argv[1:]


def test_every_long_running_hub_command_has_a_unit() -> None:
    found = subprocess.run(
        [sys.executable, "-c", _FIND_WORKERS],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    commands = set(json.loads(found.stdout))
    assert {"serve", "messages work", "webhooks work"} <= commands

    covered = {
        " ".join(itertools.takewhile(lambda a: not a.startswith("-"), command_of(u)))
        for u in SERVICES
    }

    assert commands <= covered, commands - covered


@pytest.mark.parametrize("unit", SERVICES)
def test_each_units_command_is_one_the_hub_takes(unit: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "hub", *command_of(unit), "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize("unit", SERVICES)
def test_each_unit_runs_as_the_hubs_user_restarting_and_hardened(unit: str) -> None:
    assert value(unit, "Type") in ("simple", "notify")
    assert value(unit, "Restart") == "on-failure"
    assert (value(unit, "User"), value(unit, "Group")) == ("loyalty-hub", "loyalty-hub")
    for key, wanted in (
        ("NoNewPrivileges", "yes"),
        ("ProtectSystem", "strict"),
        ("ProtectHome", "yes"),
        ("PrivateTmp", "yes"),
        ("PrivateDevices", "yes"),
        ("UMask", "0077"),
        ("ReadWritePaths", DATA_DIR),  # the data directory, and nothing else
        ("StateDirectory", "loyalty-hub"),
        ("StateDirectoryMode", "0700"),
        ("CapabilityBoundingSet", ""),
    ):
        assert value(unit, key) == wanted, (unit, key)
    assert value(unit, "Environment") == f"HUB_DATA_DIR={DATA_DIR}"
    assert value(unit, "EnvironmentFile") == "/etc/loyalty-hub/hub.env"


def test_gunicorn_tells_systemd_it_is_ready_and_the_workers_are_simple() -> None:
    assert value("loyalty-hub.service", "Type") == "notify"  # gunicorn's arbiter: READY=1
    assert command_of("loyalty-hub.service")[:1] == ["serve"]
    for unit in SERVICES:
        if unit != "loyalty-hub.service":
            assert value(unit, "Type") == "simple", unit


def test_no_unit_or_example_setting_holds_a_secret() -> None:
    texts = [(UNITS / u).read_text(encoding="utf-8") for u in SERVICES]
    texts.append((UNITS / "hub.env.example").read_text(encoding="utf-8"))
    for text in texts:
        for line in text.splitlines():
            if line.startswith("#"):
                continue
            lowered = line.lower()
            assert "password" not in lowered and "secret" not in lowered, line
            assert "key=" not in lowered or "key-file=" in lowered, line  # a key by its file
            if "postgres" in lowered:
                assert "@" not in line, line  # no user:password@ in the database's URL


def stage(directory: Path) -> Path:
    """Copies of the units, their `hub` on a stub that exists here (verify checks it)."""
    directory.mkdir(parents=True, exist_ok=True)
    stub = directory / "hub"
    stub.write_text("#!/bin/sh\nexit 0\n", encoding="utf-8")
    stub.chmod(0o755)
    for unit in SERVICES:
        text = (UNITS / unit).read_text(encoding="utf-8")
        (directory / unit).write_text(text.replace(HUB, str(stub)), encoding="utf-8")
    return directory


@pytest.mark.parametrize("unit", SERVICES)
def test_every_unit_passes_systemd_analyze_verify(
    unit: str, analyzer: None, tmp_path: Path
) -> None:
    staged = stage(tmp_path / "units")

    assert verify_problems(staged / unit) == []


def test_verify_would_catch_a_misspelled_hardening_directive(
    analyzer: None, tmp_path: Path
) -> None:
    staged = stage(tmp_path / "units")
    unit = staged / "loyalty-hub-webhooks.service"
    unit.write_text(
        unit.read_text(encoding="utf-8").replace("ProtectSystem=strict", "ProtectSystem=strikt"),
        encoding="utf-8",
    )

    assert verify_problems(unit) != []


def test_the_sysusers_file_makes_the_user_the_units_run_as(tmp_path: Path) -> None:
    if shutil.which("systemd-sysusers") is None:
        pytest.skip("systemd-sysusers is not installed (Debian: systemd)")
    (tmp_path / "etc").mkdir()
    conf = UNITS / "loyalty-hub.sysusers.conf"

    done = subprocess.run(
        ["systemd-sysusers", f"--root={tmp_path}", "--dry-run", str(conf)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert done.returncode == 0, done.stderr
    assert "Creating user 'loyalty-hub'" in done.stdout + done.stderr
    assert {value(u, "User") for u in SERVICES} == {"loyalty-hub"}
