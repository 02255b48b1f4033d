"""A member export is the whole club in one file: private from its first byte, and audited.

Before issue 16, `kiosk member export --output members.csv` wrote a world-readable file
(0644 under the usual umask) and left no trace; `kiosk member show` neither. Now the file
is created 0600 (never chmod'ed after: there is no moment when another user of the Pi can
open it), an existing export is replaced whole, and every export and every read of one
member is an audit record that says who, what and how many, never whom by name or phone.
"""

from __future__ import annotations

import io
import json
import os
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from kiosk.cli import main

PHONE = "09121234567"


@pytest.fixture
def kiosk(tmp_path, capsys, monkeypatch):
    """Run `kiosk ARGS --data-dir TMP --json`; returns (status, parsed stdout, stderr)."""
    monkeypatch.setenv("KIOSK_CONFIG", str(tmp_path / "kiosk.toml"))
    (tmp_path / "kiosk.toml").write_text(
        '[device]\nid = "kiosk-export"\n[security]\npin_scrypt_n = 1024\n'
    )
    data = tmp_path / "data"

    def run(*args: str, raw: bool = False):
        monkeypatch.setattr(sys, "stdin", io.StringIO(""))
        status = main([*args, "--data-dir", str(data), *([] if raw else ["--json"])])
        captured = capsys.readouterr()
        out = captured.out
        if not raw and out.strip():
            out = json.loads(out)
        return status, out, captured.err

    run("member", "enroll", "--phone", PHONE, "--name", "Sara Ahmadi", "--birthday", "1990-05-01")
    run("member", "enroll", "--phone", "09351234567", "--name", "Reza", "--card", "0F00A1B2C3")
    return run


def audit_of(kiosk, action: str) -> list[dict[str, Any]]:
    _, records, _ = kiosk("audit", "--limit", "100")
    return [r for r in records if r["action"] == action]


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_an_export_file_is_readable_by_its_owner_only(kiosk, tmp_path: Path, fmt: str):
    out = tmp_path / f"members.{fmt}"
    old = os.umask(0o022)  # the usual umask: open() alone would give 0644
    try:
        status, _, err = kiosk("member", "export", "--format", fmt, "--output", str(out))
    finally:
        os.umask(old)

    assert status == 0 and "exported 2 members" in err
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert "Sara Ahmadi" in out.read_text(encoding="utf-8")


def test_an_existing_world_readable_export_is_replaced_by_a_private_one(kiosk, tmp_path: Path):
    out = tmp_path / "members.csv"
    out.write_text("last month's export\n")
    out.chmod(0o644)

    assert kiosk("member", "export", "--output", str(out))[0] == 0

    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert "last month" not in out.read_text(encoding="utf-8")
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".members")] == []


def test_the_file_is_private_from_its_first_byte(kiosk, tmp_path: Path, monkeypatch):
    """Every file the export opens is 0600 when it is created (no chmod after)."""
    made: list[int] = []
    real_open = os.open

    def watching_open(path, flags, mode=0o777, *rest, **kw):
        descriptor = real_open(path, flags, mode, *rest, **kw)
        if flags & os.O_CREAT and "m.csv" in str(path):  # not the database's files
            made.append(stat.S_IMODE(os.fstat(descriptor).st_mode))
        return descriptor

    monkeypatch.setattr(os, "open", watching_open)

    assert kiosk("member", "export", "--output", str(tmp_path / "m.csv"))[0] == 0

    assert made == [0o600]


def test_every_export_is_audited_with_a_count_and_no_personal_data(kiosk, tmp_path: Path):
    kiosk("member", "export", "--output", str(tmp_path / "sara-ahmadi-09121234567.csv"))
    kiosk("member", "export", "--format", "jsonl", raw=True)  # to the standard output
    _, one, _ = kiosk("member", "show", "--phone", PHONE)
    kiosk("member", "export", "--phone", PHONE, raw=True)

    exports = audit_of(kiosk, "member.export")

    assert [(r["actor"], r["details"]["members"], r["details"]["to"]) for r in exports] == [
        ("cli", 1, "stdout"),
        ("cli", 2, "stdout"),
        ("cli", 2, "file"),
    ]
    assert exports[0]["target"] == one["member_id"]
    written = json.dumps(exports)
    for personal in ("Sara", "Ahmadi", "9121234567", "1990-05-01", "0F00A1B2C3", "sara-ahmadi"):
        assert personal not in written


def test_reading_one_member_from_the_cli_is_audited(kiosk):
    _, shown, _ = kiosk("member", "show", "--phone", PHONE)
    kiosk("member", "show", "--card", "0F00A1B2C3", raw=True)

    reads = audit_of(kiosk, "member.read")

    assert [r["actor"] for r in reads] == ["cli", "cli"]
    assert reads[1]["target"] == shown["member_id"]
    assert "Sara" not in json.dumps(reads) and "9121234567" not in json.dumps(reads)


def test_a_member_not_found_is_not_a_read(kiosk):
    status, _, _ = kiosk("member", "show", "--phone", "09129999999", raw=True)

    assert status != 0 and audit_of(kiosk, "member.read") == []


@pytest.mark.parametrize(("mode", "refused"), [(0o644, True), (0o640, True), (0o600, False)])
def test_an_export_redirected_into_a_file_others_can_read_is_refused(
    kiosk, tmp_path: Path, mode: int, refused: bool
):
    """`kiosk member export > members.csv`: the shell made the file with the umask's mode."""
    out = tmp_path / "members.csv"
    out.touch(mode=mode)
    out.chmod(mode)
    data = str(tmp_path / "data")
    with out.open("w") as stdout:
        run = subprocess.run(
            [sys.executable, "-m", "kiosk.cli", "member", "export", "--data-dir", data],
            stdout=stdout,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "KIOSK_CONFIG": str(tmp_path / "kiosk.toml")},
            timeout=60,
            check=False,
        )

    if refused:
        assert run.returncode == 1 and "--output FILE" in run.stderr
        assert out.read_text() == "" and audit_of(kiosk, "member.export") == []
    else:
        assert run.returncode == 0 and "Sara Ahmadi" in out.read_text(encoding="utf-8")
        assert len(audit_of(kiosk, "member.export")) == 1
