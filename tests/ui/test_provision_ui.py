"""Provisioning from the technician's screen: address and code typed, the CRM asked."""

from __future__ import annotations

import socket
import tomllib
from collections.abc import Iterator

import pytest

from sim.crm import CrmServer
from sim.crm_store import CrmStore
from tests.ui.conftest import Kiosk
from tests.ui.test_technician import open_technician_screen


@pytest.fixture
def crm() -> Iterator[CrmServer]:
    with CrmServer(CrmStore()) as server:
        yield server


def open_provisioning(kiosk: Kiosk) -> None:
    open_technician_screen(kiosk)
    kiosk.press("provisioning")
    assert kiosk.screen == "provision"


def type_field(kiosk: Kiosk, field: str, text: str) -> None:
    kiosk.press(field)
    screen = kiosk.app.screen
    current = screen.url if field == "url" else screen.code
    kiosk.keys("[back]" * len(current) + "".join(f"[{c}]" for c in text.lower()), "keyboard")


def attempt(kiosk: Kiosk) -> None:
    screen = kiosk.app.screen
    kiosk.press("go")
    kiosk.until(screen.done.is_set, "the CRM's answer")
    kiosk.pump()


def test_a_good_code_provisions_the_kiosk_and_restarts_it(kiosk: Kiosk, crm: CrmServer):
    open_provisioning(kiosk)
    type_field(kiosk, "url", crm.url)
    type_field(kiosk, "code", crm.store.new_code())

    attempt(kiosk)

    assert kiosk.message() == kiosk.shows("tech.provision.done", device="kiosk-test")
    data = kiosk.app.data_dir
    assert tomllib.loads((data / "provisioned.toml").read_text())["crm"]["url"] == crm.url
    assert (data / "crm-secret").stat().st_mode & 0o777 == 0o600
    assert "kiosk-test" in crm.store.view()["devices"]
    kiosk.until(lambda: kiosk.exits == [3], "the restart that picks the CRM up")


def test_a_wrong_code_is_said_in_the_technicians_language_and_nothing_is_written(
    kiosk: Kiosk, crm: CrmServer
):
    open_provisioning(kiosk)
    type_field(kiosk, "url", crm.url)
    type_field(kiosk, "code", "zzzz-zzzz")

    attempt(kiosk)

    assert kiosk.app.lang == "fa"
    assert kiosk.message() == kiosk.shows("error.provision.unknown_code")
    assert not (kiosk.app.data_dir / "provisioned.toml").exists()
    assert kiosk.screen == "provision" and kiosk.exits == []


def test_an_unreachable_crm_is_said_and_the_screen_stays_usable(kiosk: Kiosk):
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{closed.getsockname()[1]}"
    open_provisioning(kiosk)
    type_field(kiosk, "url", url)
    type_field(kiosk, "code", "k7q2-m9xa")

    attempt(kiosk)

    assert kiosk.message() == kiosk.shows("error.provision.crm_unreachable")
    assert not kiosk.ids("go").disabled
    kiosk.press("back")
    assert kiosk.screen == "tech"


def test_nothing_to_send_is_said_before_asking(kiosk: Kiosk):
    open_provisioning(kiosk)

    kiosk.press("go")

    assert kiosk.message() == kiosk.shows("tech.provision.missing")


def test_a_plain_http_crm_on_the_network_is_refused_in_the_technicians_language(
    kiosk: Kiosk,
):
    open_provisioning(kiosk)
    type_field(kiosk, "url", "http://10.0.0.5:8470")
    type_field(kiosk, "code", "k7q2-m9xa")

    attempt(kiosk)

    assert kiosk.message() == kiosk.shows("error.provision.bad_url")
    assert not (kiosk.app.data_dir / "provisioned.toml").exists()
    assert not (kiosk.app.data_dir / "crm-secret").exists()
    assert kiosk.screen == "provision" and kiosk.exits == []
