"""`hub demo` (what `make hub` runs) ends with a panel one can sign in to: its owner is a
panel owner, with the password and the TOTP secret printed once."""

from __future__ import annotations

from base64 import b32decode
from urllib.parse import parse_qs, urlsplit

from tests.panel.conftest import PanelAccount, sign_in_form, sql


def test_the_demo_owner_signs_in_to_the_panel_with_what_hub_demo_printed(page, panel_hub):
    printed = panel_hub.hub.run("demo").stdout
    again = panel_hub.hub.run("demo").stdout

    (login,) = [line for line in printed.splitlines() if "login" in line]
    name, password = login.rsplit(": ", 1)[1].split(" / ")
    (uri,) = [line.strip() for line in printed.splitlines() if "otpauth://" in line]
    secret = b32decode(parse_qs(urlsplit(uri).query)["secret"][0])
    sign_in_form(page, PanelAccount(name, password, "owner", secret))

    assert urlsplit(page.url).path == "/panel/"
    assert page.locator("header nav a[href='/panel/audit/']").count() == 1  # an owner's nav
    assert password not in again and "otpauth://" not in again  # shown once
    stored = sql(panel_hub, "SELECT password FROM auth_user WHERE username = %s", name)[0][0]
    assert password not in stored
