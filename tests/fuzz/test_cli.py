"""`kiosk` command lines: every command exits with a status, says why on stderr when it
fails, and a failed command writes nothing."""

from __future__ import annotations

import argparse
import io
import json
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kiosk.cli import build_parser, main
from tests.fuzz.database import (
    BLOCKED_CARD,
    CARD,
    PHONE,
    Template,
    changed,
    fingerprint,
    not_a_login,
)
from tests.fuzz.defects import FUZZ, attempt, defect_test, tried
from tests.fuzz.typed_text import LONG


def leaf_commands(
    parser: argparse.ArgumentParser, prefix: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], argparse.ArgumentParser]]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from leaf_commands(sub, (*prefix, name))
            return
    yield prefix, parser


# Commands that run until stopped, open hardware or talk to the network: not fuzzed here.
NOT_FUZZED = {
    ("run",): "starts the touch app",
    ("reader", "test"): "opens the card readers",
    ("sim", "tap"): "talks to a running kiosk",
    ("sim", "remove"): "talks to a running kiosk",
    ("sim", "crm"): "serves until stopped",
    ("provision",): "talks to the CRM named on the command line",
    ("doctor",): "runs system checks (systemctl, the network)",
}
COMMANDS = {path: parser for path, parser in leaf_commands(build_parser())}
FUZZED = sorted(path for path in COMMANDS if path not in NOT_FUZZED)
COMMON = {"help", "data_dir", "config", "option", "sim", "json"}


@st.composite
def cli_values(draw: st.DrawFn, template: Template) -> str:
    value = draw(
        st.one_of(
            st.sampled_from(
                [
                    PHONE,
                    "۰۹۱۲ ۱۲۳ ۴۵۶۷",
                    CARD,
                    "a1:b2:c3:d4",
                    BLOCKED_CARD,
                    template.member_id,
                    template.entries[-1][1],
                    template.manager_id,
                    "coffee",
                    "discount-100k",
                    "1500000",
                    "۱٬۵۰۰٬۰۰۰",
                    "-5",
                    "0",
                    "1e5",
                    "99999999999999999999999",
                    "-99999999999999999999999",
                    "1370-05-12",
                    "2026-02-30",
                    "",
                    " ",
                    "-",
                    "--",
                    "-x",
                    "\u202e",
                    "csv",
                    "jsonl",
                    "cashier",
                    "9173",
                ]
            ),
            st.text(max_size=15),
            st.integers().map(str),
            st.sampled_from(["caf\udce9", "\udcff\udcfe"]),  # undecodable bytes, as argv has them
            LONG,
        )
    )
    return value.replace("\x00", "")  # an argument cannot hold NUL


@st.composite
def command_lines(
    draw: st.DrawFn, template: Template, work: Path
) -> tuple[tuple[str, ...], list[str]]:
    """A command of the real parser with its options given, left out, or given nonsense."""
    path = draw(st.sampled_from(FUZZED))
    argv = list(path)
    for action in COMMANDS[path]._actions:
        if action.dest in COMMON or not draw(
            st.booleans() if action.option_strings else st.just(True)
        ):
            continue
        option = action.option_strings[-1] if action.option_strings else None
        if action.nargs == 0:
            argv.append(str(option))
            continue
        if action.dest in ("output", "to", "file"):
            value = draw(
                st.sampled_from(
                    [
                        str(work / "out.csv"),
                        str(work),
                        str(work / "missing" / "x"),
                        str(work / "members.csv"),
                        str(work / "nothing.csv"),
                    ]
                )
            )
        elif action.choices is not None and draw(st.booleans()):
            value = draw(st.sampled_from(sorted(action.choices)))
        else:
            value = draw(cli_values(template))
        argv += [option, value] if option else [value]
    for _ in range(draw(st.integers(0, 2))):
        kind = draw(st.sampled_from(["override", "json", "sim", "stray", "help"]))
        if kind == "override":
            key = draw(
                st.one_of(
                    st.sampled_from(
                        [
                            "program.points",
                            "program.enrollment_bonus",
                            "money.entry_unit",
                            "money.max_amount",
                            "shop.phone_region",
                            "shop.timezone",
                            "ui.width",
                            "program.limits.manager_approval_above",
                            "program.mode",
                            "x.y",
                        ]
                    ),
                    st.text(max_size=8),
                )
            )
            argv += ["-o", f"{key}={draw(cli_values(template))}"]
        elif kind == "stray":
            argv.append(draw(cli_values(template)))
        else:
            argv.append({"json": "--json", "sim": "--sim", "help": "--help"}[kind])
    return path, argv


@pytest.fixture(scope="module")
def cli_template(tmp_path_factory: pytest.TempPathFactory, template: Template) -> Path:
    """A data directory and a config file for the command line (the template's database)."""
    folder = tmp_path_factory.mktemp("cli")
    shutil.copytree(template.data, folder / "data")
    (folder / "kiosk.toml").write_text(
        '[device]\nid = "kiosk-test"\n[security]\npin_scrypt_n = 1024\n'
        "[program.limits]\nmin_minutes_between_earns = 0\nmax_earns_per_day = 0\n",
        encoding="utf-8",
    )
    (folder / "members.csv").write_text(
        "phone,name,birthday,card,consent,consent_version,points\n"
        "09131234567,Sara,1370-05-12,B1B2B3B4,yes,v1,10\n"
        "0912,,nope,zz,maybe,,-5\n",
        encoding="utf-8",
    )
    return folder


@FUZZ
@given(
    data=st.data(),
    stdin=st.sampled_from(["", "9173\n", "2580\n2580\n", "1234\n1234\n", "\n", "y\n"]),
)
def test_the_command_line_exits_with_a_status_and_a_refusal_writes_nothing(
    cli_template: Path,
    template: Template,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    data: st.DataObject,
    stdin: str,
) -> None:
    work = Path(tempfile.mkdtemp(dir=tmp_path))
    shutil.copytree(cli_template / "data", work / "data")
    shutil.copy(cli_template / "members.csv", work / "members.csv")
    path, argv = data.draw(command_lines(template, work))
    tried("cli." + "_".join(path))
    db = work / "data" / "kiosk.db"
    before = fingerprint(db, keep=not_a_login)
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    # Streams as Python makes them on a UTF-8 terminal: stdout strict, stderr backslashreplace.
    out_bytes, err_bytes = io.BytesIO(), io.BytesIO()
    for name, raw, errors in (
        ("stdout", out_bytes, "strict"),
        ("stderr", err_bytes, "backslashreplace"),
    ):
        stream = io.TextIOWrapper(raw, encoding="utf-8", errors=errors, write_through=True)
        monkeypatch.setattr(sys, name, stream)
    full = [*argv, "--data-dir", str(work / "data"), "--config", str(cli_template / "kiosk.toml")]

    def run() -> int:
        try:
            return main(full)
        except SystemExit as exit:  # argparse: usage errors (2) and --help (0)
            assert exit.code in (0, 2), f"SystemExit({exit.code!r})"
            return int(exit.code or 0)

    out = attempt(run, ())
    stdout, stderr = out_bytes.getvalue().decode(), err_bytes.getvalue().decode()
    status = out.value
    if out.kind == "ok":
        assert type(status) is int and status in (0, 1, 2, 3), status
        if status != 0:
            assert stderr.strip(), f"exit {status} without a word on stderr"
        json_out = (
            "--json" in argv
            and "--" not in argv
            and not any(word.startswith(("-h", "--h")) for word in argv)
            and argv[0] not in ("ledger", "member")
        )
        if json_out and status == 0 and stdout.strip():
            json.loads(stdout)
        if json_out and status in (1, 3):
            error = json.loads(stderr.strip().splitlines()[-1])
            assert error["error"] and error["message"]
    if out.kind != "ok" or status != 0:
        after = fingerprint(db, keep=not_a_login)
        assert changed(before, after) == [], f"a failed command wrote: {argv}"
    shutil.rmtree(work, ignore_errors=True)


def test_every_command_is_fuzzed_or_said_why_not() -> None:
    assert set(NOT_FUZZED) <= set(COMMANDS)
    assert len(FUZZED) > 15


# -- defects found here, each shown by one input (KNOWN_DEFECTS in defects.py) ------------
#
# Each test states what should happen; while its defect is open it fails as the reason says.


def cli(tmp_path: Path, *argv: str) -> int:
    data = tmp_path / "data"
    config = tmp_path / "kiosk.toml"
    config.write_text("[security]\npin_scrypt_n = 1024\n", encoding="utf-8")
    return main([*argv, "--data-dir", str(data), "--config", str(config)])


@defect_test("cli_undecodable_argument")
def test_defect_cli_argument_with_undecodable_bytes(tmp_path: Path) -> None:
    assert cli(tmp_path, "member", "enroll", "--phone", PHONE, "--name", "\udcff") in (1, 2)
    assert not (tmp_path / "data" / "kiosk.db").exists()


@defect_test("cli_huge_integer")
def test_defect_cli_huge_integer_option(tmp_path: Path) -> None:
    assert cli(tmp_path, "member", "enroll", "--phone", PHONE) == 0
    assert cli(tmp_path, "audit", "--limit", "99999999999999999999999") in (1, 2)


@defect_test("cli_export_output")
def test_defect_cli_export_to_a_path_that_cannot_be_written(tmp_path: Path) -> None:
    assert cli(tmp_path, "member", "enroll", "--phone", PHONE) == 0
    assert cli(tmp_path, "ledger", "export", "--output", str(tmp_path)) in (1, 2)


@defect_test("cli_backup_keep")
def test_defect_cli_backup_keep_below_one(tmp_path: Path) -> None:
    assert cli(tmp_path, "member", "enroll", "--phone", PHONE) == 0
    assert cli(tmp_path, "backup", "--keep", "0") in (1, 2)
