"""The `kiosk` command line: JSON outputs, bad input, and every command documented."""

from __future__ import annotations

import argparse
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from kiosk.cli import build_parser, main

ROOT = Path(__file__).resolve().parent.parent
PHONE = "09121234567"


@pytest.fixture
def kiosk(tmp_path, capsys, monkeypatch):
    """Run `kiosk ARGS --data-dir TMP --json`; returns (status, parsed stdout, stderr)."""
    monkeypatch.setenv("KIOSK_CONFIG", str(tmp_path / "kiosk.toml"))
    (tmp_path / "kiosk.toml").write_text(
        '[device]\nid = "kiosk-cli"\n[security]\npin_scrypt_n = 1024\n'
        "[program.limits]\nmin_minutes_between_earns = 0\n"
    )
    data = tmp_path / "data"

    def run(*args: str, stdin: str = "", raw: bool = False):
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        status = main([*args, "--data-dir", str(data), *([] if raw else ["--json"])])
        captured = capsys.readouterr()
        out = captured.out
        if not raw and out.strip():
            out = json.loads(out)
        return status, out, captured.err

    run.data = data  # type: ignore[attr-defined]
    return run


def entry_count(data: Path) -> int:
    import sqlite3

    if not (data / "kiosk.db").exists():
        return 0
    conn = sqlite3.connect(data / "kiosk.db")
    try:
        return int(conn.execute("SELECT COUNT(*) FROM entries").fetchone()[0])
    finally:
        conn.close()


def test_enroll_earn_redeem_show_in_json(kiosk):
    status, enrolled, _ = kiosk("member", "enroll", "--phone", PHONE, "--card", "a1b2c3d4")
    assert status == 0
    status, earned, _ = kiosk(
        "earn",
        "--card",
        "A1:B2:C3:D4",
        "--amount",
        "2,500,000",
        "--unit",
        "toman",
        "--txn",
        "till-1",
    )
    assert status == 0
    assert {"entry_id", "points", "balance"} <= earned.keys()
    assert (earned["points"], earned["balance"]) == (250, 300)

    status, redeemed, _ = kiosk("redeem", "--phone", "+98 912 123 4567", "--reward", "coffee")
    assert status == 0
    assert {"entry_id", "points", "balance", "coupon_code"} <= redeemed.keys()

    status, shown, _ = kiosk("member", "show", "--phone", "۰۹۱۲۱۲۳۴۵۶۷")
    assert status == 0
    assert (shown["member_id"], shown["balance"], shown["tier"]) == (
        enrolled["member_id"],
        100,
        "bronze",
    )


def test_a_retried_earn_with_the_same_txn_awards_once(kiosk):
    kiosk("member", "enroll", "--phone", PHONE)
    _, first, _ = kiosk("earn", "--phone", PHONE, "--amount", "250000", "--txn", "t1")
    _, again, _ = kiosk("earn", "--phone", PHONE, "--amount", "250000", "--txn", "t1")

    assert again["entry_id"] == first["entry_id"]
    assert again["balance"] == 75


@pytest.mark.parametrize(
    "args",
    [
        ("earn", "--phone", PHONE, "--amount", "abc"),
        ("earn", "--phone", PHONE, "--amount", "-5"),
        ("earn", "--phone", PHONE, "--amount", "0"),
        ("earn", "--phone", "02188776655", "--amount", "1000"),
        ("earn", "--card", "xyz!", "--amount", "1000"),
        ("earn", "--phone", "09351234567", "--amount", "1000"),
        ("redeem", "--phone", PHONE, "--reward", "yacht"),
        ("redeem", "--phone", PHONE, "--reward", "percent-10"),
        ("void", "no-such-entry", "--reason", "x"),
        ("member", "enroll", "--phone", "12"),
        ("member", "enroll", "--phone", PHONE),
        ("member", "enroll", "--phone", "09351234567", "--birthday", "1370-13-40"),
        ("member", "enroll", "--phone", "09351234567", "--consent"),
    ],
)
def test_bad_input_exits_non_zero_with_one_line_and_writes_nothing(kiosk, args):
    kiosk("member", "enroll", "--phone", PHONE)
    before = entry_count(kiosk.data)

    status, out, err = kiosk(*args, raw=True)

    assert status != 0
    assert out == ""
    assert len(err.strip().splitlines()) == 1 and err.startswith("kiosk: ")
    assert "Traceback" not in err
    assert entry_count(kiosk.data) == before


def test_a_read_command_on_a_missing_data_dir_creates_nothing(kiosk):
    status, _, err = kiosk("ledger", "verify", raw=True)

    assert status != 0
    assert "no kiosk database" in err
    assert not kiosk.data.exists()


def test_void_by_entry_id(kiosk):
    kiosk("member", "enroll", "--phone", PHONE)
    _, earned, _ = kiosk("earn", "--phone", PHONE, "--amount", "250000")

    status, voided, _ = kiosk("void", earned["entry_id"], "--reason", "typo")

    assert status == 0
    assert voided["balance"] == 50


def test_staff_pin_is_read_at_a_prompt_never_an_argument(kiosk):
    status, added, _ = kiosk(
        "staff", "add", "--name", "Sara", "--role", "manager", stdin="2468\n2468\n"
    )
    assert status == 0
    _, listed, _ = kiosk("staff", "list")
    assert [s["staff_id"] for s in listed] == [added["staff_id"]]
    assert "--pin" not in build_parser().format_help()

    status, _, err = kiosk(
        "staff", "add", "--name", "Ali", "--role", "cashier", stdin="1111\n2222\n", raw=True
    )
    assert status != 0 and "differ" in err


def test_a_taken_or_trivial_pin_is_refused_by_staff_add_and_set_pin(kiosk):
    kiosk("staff", "add", "--name", "Sara", "--role", "cashier", stdin="2468\n2468\n")
    _, reza, _ = kiosk("staff", "add", "--name", "Reza", "--role", "manager", stdin="1357\n1357\n")

    taken = kiosk(
        "staff", "add", "--name", "Ali", "--role", "cashier", stdin="2468\n2468\n", raw=True
    )
    trivial = kiosk("staff", "set-pin", reza["staff_id"], stdin="1234\n1234\n", raw=True)
    set_taken = kiosk("staff", "set-pin", reza["staff_id"], stdin="2468\n2468\n", raw=True)

    assert taken[0] != 0 and "taken" in taken[2]
    assert trivial[0] != 0 and "too easy" in trivial[2]
    assert set_taken[0] != 0 and "taken" in set_taken[2]
    _, listed, _ = kiosk("staff", "list")
    assert sorted(s["name"] for s in listed) == ["Reza", "Sara"]
    assert kiosk("staff", "set-pin", reza["staff_id"], stdin="9173\n9173\n")[0] == 0


def test_large_purchase_with_a_manager_approval_at_the_prompt(kiosk):
    _, manager, _ = kiosk("staff", "add", "--name", "M", "--role", "manager", stdin="2468\n2468\n")
    kiosk("member", "enroll", "--phone", PHONE)
    status, _, err = kiosk("earn", "--phone", PHONE, "--amount", "6000000", raw=True)
    assert status != 0 and "manager" in err

    status, earned, _ = kiosk(
        "earn",
        "--phone",
        PHONE,
        "--amount",
        "6000000",
        "--approved-by",
        manager["staff_id"],
        stdin="2468\n",
    )

    assert status == 0 and earned["points"] == 600


def test_import_reports_every_bad_row_and_writes_nothing(kiosk, tmp_path):
    csv_file = tmp_path / "members.csv"
    csv_file.write_text(
        "phone,name,card,consent,consent_version,points\n"
        "09121111111,Sara,A1B2C3D4,yes,v1,100\n"
        "021 8877 6655,Landline,,,,\n"
        "09122222222,Ali,A1B2C3D4,no,,\n"
        "09123333333,Reza,,maybe,,\n"
        "09121111111,Again,,,,\n"
        "09124444444,Neda,,,,-3\n",
        encoding="utf-8",
    )

    status, _, err = kiosk("member", "import", str(csv_file), raw=True)

    assert status != 0
    for line in (3, 4, 5, 6, 7):
        assert f"line {line}:" in err
    assert "line 2:" not in err
    assert entry_count(kiosk.data) == 0
    status, result, _ = kiosk("member", "import", str(csv_file), "--skip-bad")
    assert result == {"imported": 1, "skipped": 5}
    _, shown, _ = kiosk("member", "show", "--card", "a1b2c3d4")
    assert shown["balance"] == 100


def test_export_members_and_ledger(kiosk, tmp_path):
    kiosk("member", "enroll", "--phone", PHONE, "--name", "Sara")
    kiosk("earn", "--phone", PHONE, "--amount", "250000")

    status, out, _ = kiosk("member", "export", raw=True)
    assert status == 0
    assert "+989121234567" in out and "Sara" in out

    status, out, _ = kiosk("ledger", "export", "--format", "jsonl", raw=True)
    lines = [json.loads(line) for line in out.splitlines()]
    assert [e["kind"] for e in lines] == ["bonus", "earn"]
    assert all("phone" not in e for e in lines)


def test_erase_needs_yes_without_a_terminal(kiosk):
    kiosk("member", "enroll", "--phone", PHONE)
    status, _, err = kiosk("member", "erase", "--phone", PHONE, raw=True)
    assert status != 0 and "--yes" in err

    status, _, _ = kiosk("member", "erase", "--phone", PHONE, "--yes")

    assert status == 0
    assert kiosk("member", "show", "--phone", PHONE, raw=True)[0] != 0


def test_config_show_masks_secrets(kiosk):
    status, out, _ = kiosk("config", "show", "-o", 'crm.device_secret="hunter2"', raw=True)

    assert status == 0
    assert "hunter2" not in out
    assert 'id = "kiosk-cli"' in out


def leaf_commands(parser: argparse.ArgumentParser, prefix: tuple[str, ...] = ()):
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from leaf_commands(sub, (*prefix, name))
            return
    yield prefix, parser


def test_every_command_has_help_with_an_example_and_is_documented():
    docs = (ROOT / "README.md").read_text() + (ROOT / "docs" / "cli.md").read_text()
    commands = list(leaf_commands(build_parser()))
    assert len(commands) > 15

    for path, parser in commands:
        name = "kiosk " + " ".join(path)
        assert f"`{name}" in docs, f"{name} is not documented in README.md or docs/cli.md"
        assert "Example: kiosk" in (parser.description or ""), f"{name} has no example"
        help_text = parser.format_help()
        assert "--data-dir" in help_text and "--json" in help_text, name


def test_the_installed_console_script_runs():
    kiosk_bin = Path(sys.executable).parent / "kiosk"
    result = subprocess.run([str(kiosk_bin), "--help"], capture_output=True, text=True, check=False)

    assert result.returncode == 0
    assert "member" in result.stdout and "ledger" in result.stdout


def test_an_amount_is_in_the_counters_unit_and_said_back_as_typed_and_in_rial(kiosk):
    # money.entry_unit is toman, as cashiers type it at the counter: a 10x slip is visible.
    kiosk("member", "enroll", "--phone", PHONE)

    status, out, _ = kiosk("earn", "--phone", PHONE, "--amount", "250000", raw=True)
    _, quoted, _ = kiosk(
        "quote", "--phone", PHONE, "--amount", "2500000", "--unit", "rial", raw=True
    )
    _, _, err = kiosk("earn", "--phone", PHONE, "--amount", "6000000", raw=True)

    assert status == 0
    assert "purchase of 250,000 toman (2,500,000 rial): +25 points" in out
    assert "25 points for 2,500,000 rial" in quoted
    assert "above 5,000,000 toman (50,000,000 rial) needs a manager's approval" in err
    assert "--approved-by" in err
