"""`hub user add` and `hub user list`: strong passwords, a second factor for owners, the
TOTP secret shown once to the operator and nowhere else."""

from __future__ import annotations

import json

import pytest

from tests.panel.conftest import PASSWORD, PanelHub, sql


@pytest.mark.parametrize(
    ("password", "says"),
    [
        ("short1", "too short"),
        ("123456789012345", "entirely numeric"),
        ("qwertyuiop123", "too common"),
    ],
)
def test_a_weak_password_is_refused_and_no_user_made(panel_hub: PanelHub, password, says):
    done = panel_hub.hub.run(
        "user", "add", "weakling", "--role", "support", check=False, stdin=password + "\n"
    )

    assert done.returncode == 1 and says in done.stderr
    assert sql(panel_hub, "SELECT 1 FROM auth_user WHERE username = 'weakling'") == []


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--role", "owner", "--no-totp"], "must have a second factor"),
        (["--role", "manager"], "needs --branch"),
        (["--role", "manager", "--branch", "Nowhere"], "no branch named"),
        (["--role", "support", "--branch", "Valiasr"], "only a manager has a branch"),
        (["--role", "cashier"], "invalid choice"),
    ],
)
def test_roles_and_branches_that_make_no_sense_are_refused(panel_hub: PanelHub, args, says):
    done = panel_hub.hub.run("user", "add", "someone", *args, check=False, stdin=PASSWORD + "\n")

    assert done.returncode == 1 and says in done.stderr
    assert sql(panel_hub, "SELECT 1 FROM auth_user WHERE username = 'someone'") == []


def test_the_totp_secret_is_printed_once_and_never_stored_in_the_clear_elsewhere(
    panel_hub: PanelHub,
):
    done = panel_hub.hub.run("user", "add", "olive", "--role", "owner", stdin=PASSWORD + "\n")
    listed = panel_hub.hub.run("user", "list", "--json")

    uri = next(line.strip() for line in done.stdout.splitlines() if "otpauth://" in line)
    secret = uri.split("secret=")[1].split("&")[0]
    assert "issuer=Loyalty%20hub" in uri and done.stderr == ""
    assert secret not in listed.stdout and PASSWORD not in listed.stdout
    olive = next(row for row in json.loads(listed.stdout) if row["name"] == "olive")
    assert olive == {
        "name": "olive",
        "role": "owner",
        "branch": None,
        "totp": True,
        "active": True,
        "last_login": None,
    }
    stored = sql(panel_hub, "SELECT password FROM auth_user WHERE username = 'olive'")[0][0]
    assert stored.startswith("pbkdf2_sha256$") and PASSWORD not in stored


def test_a_manager_belongs_to_a_branch(panel_hub: PanelHub):
    panel_hub.hub.run(
        "user", "add", "mina", "--role", "manager", "--branch", "Tajrish", stdin=PASSWORD + "\n"
    )

    rows = panel_hub.hub.run("user", "list").stdout.splitlines()

    assert any(row.startswith("mina\tmanager\tTajrish\ttotp\tactive") for row in rows)
