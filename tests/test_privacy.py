"""Privacy: one member's data on request, consent with its version, erasure that keeps
the anonymous ledger (end to end across kiosks in tests/test_sync_pull.py)."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import pytest

from kiosk.cli import main
from kiosk.ui.screens.enrollment import consent_version

ASKING = "09121234567"
OTHER = "09127654321"


@pytest.fixture
def kiosk(tmp_path: Path, capsys, monkeypatch):
    monkeypatch.setenv("KIOSK_CONFIG", str(tmp_path / "kiosk.toml"))
    (tmp_path / "kiosk.toml").write_text(
        '[device]\nid = "kiosk-privacy"\n[security]\npin_scrypt_n = 1024\n'
        "[program.limits]\nmin_minutes_between_earns = 0\n"
    )
    data = tmp_path / "data"

    def run(*args: str) -> tuple[int, str]:
        monkeypatch.setattr(sys, "stdin", io.StringIO(""))
        status = main([*args, "--data-dir", str(data)])
        return status, capsys.readouterr().out

    return run


def test_one_members_data_is_exported_on_request_and_no_one_elses(kiosk):
    version = consent_version()
    kiosk(
        "member",
        "enroll",
        "--phone",
        ASKING,
        "--name",
        "Sara",
        "--card",
        "1A2B3C4D",
        "--consent",
        "--consent-version",
        version,
    )
    kiosk("member", "enroll", "--phone", OTHER, "--name", "Reza")
    kiosk("earn", "--phone", ASKING, "--amount", "250000")

    status, out = kiosk("member", "export", "--phone", ASKING, "--format", "jsonl")

    records = [json.loads(line) for line in out.splitlines()]
    assert status == 0 and len(records) == 1
    mine = records[0]
    assert mine["phone"] == "+989121234567" and mine["name"] == "Sara"
    assert "Reza" not in out and "7654321" not in out
    assert json.dumps(mine).count(version) == 1  # the consent is there with its version


def test_an_erased_member_is_gone_from_the_export_and_the_ledger_stays(kiosk):
    kiosk("member", "enroll", "--phone", ASKING, "--name", "Sara")
    kiosk("earn", "--phone", ASKING, "--amount", "250000")

    assert kiosk("member", "erase", "--phone", ASKING, "--yes")[0] == 0

    _, members = kiosk("member", "export", "--format", "jsonl")
    _, ledger = kiosk("ledger", "export", "--format", "jsonl")
    assert "Sara" not in members and "1234567" not in members
    assert [json.loads(line)["kind"] for line in ledger.splitlines()] == ["bonus", "earn"]
    assert kiosk("ledger", "verify")[0] == 0
