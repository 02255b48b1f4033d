"""`hub user add|list|disable|password|totp`: strong passwords, a second factor for owners,
the TOTP secret shown once to the operator and nowhere else, sessions ended by a change."""

from __future__ import annotations

import json
from base64 import b32decode
from dataclasses import replace
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.panel.conftest import PASSWORD, PanelHub, open_context, sign_in_form, sql


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


def test_a_disabled_user_is_signed_out_at_once_and_cannot_sign_in(page, panel_hub, signed_in):
    manager = signed_in(page, "manager")

    done = panel_hub.hub.run("user", "disable", manager.name)
    page.goto("/panel/")

    assert "1 sessions ended" in done.stdout
    assert urlsplit(page.url).path == "/panel/sign-in"
    sign_in_form(page, manager, code=manager.code(offset=1))
    assert urlsplit(page.url).path == "/panel/sign-in"


def test_a_new_totp_secret_ends_the_session_and_the_old_apps_codes(
    browser, page, panel_hub, signed_in
):
    owner = signed_in(page, "owner")

    done = panel_hub.hub.run("user", "totp", owner.name)
    page.goto("/panel/")
    ended = urlsplit(page.url).path
    uri = next(line.strip() for line in done.stdout.splitlines() if "otpauth://" in line)
    renewed = replace(owner, secret=b32decode(parse_qs(urlsplit(uri).query)["secret"][0]))
    sign_in_form(page, renewed)
    # The old app's next code, in another browser (a wrong code slows the next check
    # down for a second: django-otp's throttle, so it comes last).
    other = open_context(browser, panel_hub).new_page()
    sign_in_form(other, owner, code=owner.code(offset=1))

    assert ended == "/panel/sign-in"
    assert urlsplit(page.url).path == "/panel/"
    assert urlsplit(other.url).path == "/panel/sign-in"
    other.context.close()


def test_a_new_password_ends_the_session_and_must_be_strong(page, panel_hub, signed_in):
    support = signed_in(page, "support")

    weak = panel_hub.hub.run("user", "password", support.name, check=False, stdin="123\n")
    done = panel_hub.hub.run("user", "password", support.name, stdin="another long passphrase\n")
    page.goto("/panel/")

    assert weak.returncode == 1 and "too short" in weak.stderr
    assert "1 sessions ended" in done.stdout
    assert urlsplit(page.url).path == "/panel/sign-in"
