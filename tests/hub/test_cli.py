"""The `hub` command as the owner uses it: clear answers; bad input is one line, nothing written."""

from __future__ import annotations

import json
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from tests.hub.conftest import ROOT, Hub, Postgres, hub_env, run_hub

TABLES = ("hub_branch", "hub_device", "hub_enrollment_code")


def counts(hub: Hub) -> dict[str, int]:
    return {table: hub.sql(f"SELECT count(*) FROM {table}")[0][0] for table in TABLES}


def test_branches_and_devices_are_added_listed_and_revoked(hub: Hub):
    hub.run("branch", "add", "Valiasr")
    hub.run("branch", "add", "Tajrish")

    added = hub.json("device", "add", "--branch", "Tajrish", "--json")
    text = hub.run("device", "add", "--branch", "Valiasr").stdout
    renewed = hub.json("device", "code", str(added["device"]), "--json")
    revoked = hub.run("device", "revoke", str(added["device"])).stdout
    again = hub.run("device", "revoke", str(added["device"])).stdout

    assert added["branch"] == "Tajrish" and added["device_id"] is None
    assert len(added["code"]) == 9 and added["code"][4] == "-"
    assert renewed["device"] == added["device"] and renewed["code"] != added["code"]
    assert "enrollment code" in text and "kiosk provision --crm" in text
    assert "revoked" in revoked and "already revoked" in again
    states = [(d["branch"], d["state"]) for d in hub.json("device", "list", "--json")]
    assert states == [("Tajrish", "revoked"), ("Valiasr", "waiting")]
    branches = hub.json("branch", "list", "--json")
    assert [(b["name"], b["devices"]) for b in branches] == [("Valiasr", 1), ("Tajrish", 1)]


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("branch", "add", "  "), "needs a name"),
        (("branch", "add", "Valiasr"), "exists already"),
        (("device", "add", "--branch", "Nowhere"), "no branch named 'Nowhere'"),
        (("device", "revoke", "999"), "no device '999'"),
        (("device", "code", "kiosk-nobody"), "no device 'kiosk-nobody'"),
        (("device", "add"), "required: --branch"),
        (("device", "add", "--branch", "Valiasr", "--count", "0"), "from 1 to 1000"),
        (("serve", "--workers", "many"), "from 1 to 64"),
    ],
)
def test_bad_input_is_one_line_on_stderr_and_nothing_is_written(hub: Hub, args, says):
    hub.run("branch", "add", "Valiasr")
    before = counts(hub)

    done = hub.run(*args, check=False)

    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("hub: ") and says in done.stderr
    assert counts(hub) == before


def test_a_database_that_is_not_postgresql_is_refused(hub: Hub):
    env = hub.env | {"HUB_DATABASE_URL": "sqlite:///hub.db"}

    done = run_hub(env, "device", "list", check=False)

    assert done.returncode == 1
    assert done.stderr.strip() == (
        "hub: HUB_DATABASE_URL must be a postgresql:// URL (the hub runs on PostgreSQL only)"
    )


def test_a_database_that_cannot_be_reached_is_one_line_at_once(hub: Hub, tmp_path: Path):
    env = hub.env | {"HUB_DATABASE_URL": f"postgresql:///hub?host={tmp_path}/nowhere&port=5999"}

    done = run_hub(env, "device", "list", check=False)

    assert done.returncode == 1
    assert done.stderr.count("\n") == 1 and "cannot reach the database" in done.stderr


def test_migrate_makes_the_secret_key_once_readable_by_its_owner_only(
    postgres: Postgres, tmp_path: Path
):
    env = hub_env(postgres.url(postgres.create_database()), tmp_path / "hub")
    key_file = tmp_path / "hub" / "secret-key"

    first = run_hub(env, "migrate")
    key = key_file.read_text()
    second = run_hub(env, "migrate")

    assert "secret key created" in first.stdout and "migrations applied" in first.stdout
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert key_file.read_text() == key and len(key.strip()) >= 50
    assert second.stdout.strip() == "database up to date"


def test_serve_refuses_a_database_that_is_not_migrated(postgres: Postgres, tmp_path: Path):
    (tmp_path / "hub").mkdir()
    (tmp_path / "hub" / "secret-key").write_text("k" * 50)
    env = hub_env(postgres.url(postgres.create_database()), tmp_path / "hub")

    done = run_hub(env, "serve", "--bind", "127.0.0.1:0", check=False)

    assert done.returncode == 1 and "run hub migrate first" in done.stderr


def test_the_demo_chain_prints_the_owners_password_once(hub: Hub):
    first = hub.run("demo").stdout
    second = hub.run("demo").stdout

    (line,) = [line for line in first.splitlines() if "login" in line]
    password = line.rsplit(" / ", 1)[1]
    assert len(password) >= 12 and password not in second
    assert [b["name"] for b in hub.json("branch", "list", "--json")] == ["Valiasr", "Tajrish"]
    stored = hub.sql("SELECT password FROM auth_user WHERE username = 'owner'")[0][0]
    assert stored.startswith("pbkdf2_sha256$") and password not in stored


def test_export_is_one_json_document_of_everything(hub: Hub):
    hub.new_device("Valiasr")

    chain = json.loads(hub.run("export").stdout)

    assert set(chain) == {"branches", "devices", "members", "entries"}
    assert chain["devices"][0]["state"] == "waiting" and "secret" not in chain["devices"][0]


def test_every_command_is_documented_in_docs_hub_md(hub: Hub):
    probe = (
        "import argparse, django, os\n"
        "os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'hub.settings')\n"
        "django.setup()\n"
        "from hub.cli.commands import build_parser\n"
        "def walk(parser, prefix):\n"
        "    subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]\n"
        "    if not subs:\n"
        "        print(prefix)\n"
        "    for name, sub in (subs[0].choices.items() if subs else ()):\n"
        "        walk(sub, f'{prefix} {name}')\n"
        "walk(build_parser(), 'hub')\n"
    )
    listed = subprocess.run(
        [sys.executable, "-c", probe],
        env=hub.env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split("\n")
    docs = (ROOT / "docs" / "hub.md").read_text()

    assert len([c for c in listed if c]) >= 10
    assert [c for c in listed if c and f"`{c}" not in docs] == []


def test_export_into_a_pipe_closed_early_is_no_traceback(hub: Hub):
    many = "SELECT 'b' || n, now() FROM generate_series(1, 3000) n"  # more than a pipe holds
    hub.sql(f"INSERT INTO hub_branch (name, created_at) {many}")
    export = subprocess.Popen(
        [sys.executable, "-m", "hub", "export"],
        env=hub.env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert export.stdout is not None and export.stderr is not None

    first = export.stdout.readline()  # as `hub export | head -1` reads
    export.stdout.close()
    errors = export.stderr.read()
    export.wait(timeout=60)

    assert first == "{\n"
    assert "Traceback" not in errors


def test_flags_are_listed_for_the_owner_oldest_first(hub: Hub):
    device = hub.new_device("Valiasr")["device"]
    hub.sql(
        "INSERT INTO hub_flag (raised_at, code, device_id, member_id, entry_id, detail) "
        f"VALUES (now(), 'overdraw', {device}, 'm-1', 'e-1', '{{\"points\": -900}}'), "
        "(now(), 'outside_program', NULL, NULL, 'e-2', '{}')"
    )

    listed = hub.json("flag", "list", "--json")
    text = hub.run("flag", "list").stdout

    assert [(f["code"], f["entry_id"]) for f in listed] == [
        ("overdraw", "e-1"),
        ("outside_program", "e-2"),
    ]
    assert listed[0]["detail"] == {"points": -900} and listed[1]["device"] is None
    assert "overdraw" in text and "e-2" in text
