"""The first-boot setup of a flashed kiosk (device.first_boot_setup): the CRM's address, the
enrollment code and the technician's PIN typed on the screen, traded with the simulated
CRM over real HTTP on loopback; each boot is a new app on the same data directory with
the config read again, as systemd starts it after the restart or a power cut."""

from __future__ import annotations

import io
import socket
import sys
import tomllib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from drivers.factory import ReaderSet
from kiosk.bootstrap import Appliance
from kiosk.cli import main
from kiosk.config import load_config
from kiosk.core.clock import ManualClock
from kiosk.core.store.staff import CLI
from kiosk.errors import InvalidPin, KioskError, WeakPin, WrongPin
from sim.crm import CrmServer
from sim.crm_store import CrmStore
from sim.reader import SimReader
from tests.conftest import NO_SYSTEM_CONFIG, START, TEST_OVERRIDES
from tests.ui.conftest import Kiosk, _forget_previous_app

PIN = "4826"
FLAG = "device.first_boot_setup=true"
Boot = Callable[..., Kiosk]


@pytest.fixture
def crm() -> Iterator[CrmServer]:
    with CrmServer(CrmStore()) as server:
        yield server


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def boot(data_dir: Path, window: Any) -> Iterator[Boot]:
    """Start the touch app on `data_dir` with `overrides`; the one before is stopped first
    (a boot after a restart or a power cut: the database and the files are what was
    written, the config is read again with what provisioning wrote)."""
    from kivy.base import EventLoop

    from kiosk.ui.app import KioskApp
    from kiosk.ui.sounds import Sounds

    running: list[tuple[Any, Any, Any]] = []

    def stop() -> None:
        while running:
            app, root, service = running.pop()
            app.dispatch("on_stop")
            window.remove_widget(root)
            service.close()
        EventLoop.idle()

    def start(*overrides: str, staff: tuple[str, ...] = ()) -> Kiosk:
        stop()
        config = load_config(
            None,
            [*TEST_OVERRIDES, *overrides],
            environ={},
            system_file=NO_SYSTEM_CONFIG,
            data_dir=data_dir,
        )
        clock = ManualClock(START)
        appliance = Appliance(config, data_dir, clock=clock)
        service = appliance.open_service()
        for role in staff:
            service.staff.add(name=role.title(), role=role, pin=PIN, actor=CLI)
        reader = SimReader("sim")
        exits: list[int] = []
        app = KioskApp(
            service,
            data_dir=data_dir,
            readers=ReaderSet([reader], debounce_seconds=0),
            sounds=Sounds(Path("assets/sounds"), enabled=False),
            exit_app=exits.append,
            provision=appliance.provision_device,
        )
        _forget_previous_app()
        root = app.build()
        app.root = root
        window.add_widget(root)
        EventLoop.idle()
        running.append((app, root, service))
        kiosk = Kiosk(app, reader, clock, window)
        kiosk.exits = exits
        kiosk.until(lambda: bool(app.reader_states), "the reader's first status")
        return kiosk

    yield start
    stop()


def fill(kiosk: Kiosk, field: str, text: str) -> None:
    """Choose `field` and type `text` on the screen's keyboard (what was there erased)."""
    kiosk.press(field)
    current = getattr(kiosk.app.screen, field)
    kiosk.keys("[back]" * len(current) + "".join(f"[{c}]" for c in text.lower()), "keyboard")


def set_up(kiosk: Kiosk, url: str, code: str, pin: str = PIN, again: str = PIN) -> None:
    """Type the address, the code and the PIN twice, press the button, wait for the CRM."""
    fill(kiosk, "url", url)
    fill(kiosk, "code", code)
    if not kiosk.app.screen.pin_saved:
        fill(kiosk, "pin", pin)
        fill(kiosk, "again", again)
    screen = kiosk.app.screen
    screen.done.clear()
    kiosk.press("go")
    if screen.busy:
        kiosk.until(screen.done.is_set, "the CRM's answer")
    kiosk.pump()


def technicians(kiosk: Kiosk) -> list[str]:
    return [s.name for s in kiosk.service.staff.list() if s.role == "technician"]


def closed_port_url() -> str:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{closed.getsockname()[1]}"


def test_an_image_not_set_up_opens_on_the_setup_screen_and_stays_there_when_idle(boot: Boot):
    kiosk = boot(FLAG)

    assert kiosk.screen == "first_boot"
    assert kiosk.text("title") == kiosk.shows("setup.title")
    assert kiosk.app.lang == "fa"
    assert kiosk.message() == kiosk.shows("setup.hint")  # where the address and code come from
    kiosk.press("language")
    assert kiosk.text("title") == kiosk.shows("setup.title") == "Set up this kiosk"
    assert kiosk.message() == kiosk.shows("setup.hint")
    kiosk.tick(minutes=10)
    assert kiosk.screen == "first_boot" and kiosk.app.lang == "fa"


def test_a_kiosk_installed_by_hand_still_opens_on_the_attract_screen(boot: Boot):
    kiosk = boot()

    assert kiosk.screen == "attract"


def test_the_right_code_stores_the_credentials_and_the_next_boot_shows_the_attract_screen(
    boot: Boot, crm: CrmServer, data_dir: Path
):
    kiosk = boot(FLAG)

    set_up(kiosk, crm.url, crm.store.new_code())

    assert kiosk.message() == kiosk.shows("tech.provision.done", device="kiosk-test")
    assert tomllib.loads((data_dir / "provisioned.toml").read_text())["crm"]["url"] == crm.url
    assert (data_dir / "crm-secret").stat().st_mode & 0o777 == 0o600
    assert "kiosk-test" in crm.store.view()["devices"]
    kiosk.until(lambda: kiosk.exits == [3], "the restart that picks the CRM up")

    kiosk = boot(FLAG)  # systemd starts it again

    assert kiosk.screen == "attract"
    assert kiosk.app.config_.crm.url == crm.url
    kiosk.tick(minutes=10)
    assert kiosk.screen == "attract"
    for _ in range(5):  # the technician made at first boot opens the technician's screen
        kiosk.press("shop")
    kiosk.sign_in(technicians(kiosk)[0], PIN)
    assert kiosk.screen == "tech"


def test_a_refused_code_is_said_in_english_then_a_new_code_needs_no_second_pin(
    boot: Boot, crm: CrmServer, data_dir: Path
):
    kiosk = boot(FLAG)
    kiosk.press("language")

    set_up(kiosk, crm.url, "zzzz-zzzz")

    assert kiosk.app.lang == "en"
    assert kiosk.message() == kiosk.shows("error.provision.unknown_code")
    assert "does not know this code" in kiosk.message()
    assert not (data_dir / "provisioned.toml").exists()
    assert not (data_dir / "crm-secret").exists()
    assert kiosk.screen == "first_boot" and kiosk.exits == []
    assert len(technicians(kiosk)) == 1  # the PIN is kept: it was checked and typed twice
    assert kiosk.ids("pin").text == kiosk.shows("setup.pin_saved")

    set_up(kiosk, crm.url, crm.store.new_code())

    assert kiosk.message() == kiosk.shows("tech.provision.done", device="kiosk-test")
    assert len(technicians(kiosk)) == 1


def test_a_refused_code_is_said_in_persian(boot: Boot, crm: CrmServer):
    kiosk = boot(FLAG)

    set_up(kiosk, crm.url, "zzzz-zzzz")

    assert kiosk.message() == kiosk.shows("error.provision.unknown_code")
    assert "کد" in kiosk.app.texts.tr("error.provision.unknown_code")


def test_no_network_is_said_and_the_screen_stays_usable(boot: Boot):
    kiosk = boot(FLAG)

    set_up(kiosk, closed_port_url(), "k7q2-m9xa")

    assert kiosk.message() == kiosk.shows("error.provision.crm_unreachable")
    assert not kiosk.ids("go").disabled
    assert kiosk.screen == "first_boot"


@pytest.mark.parametrize(
    "url",
    ["http://10.0.0.5:8470", "https://", "ftp://crm.example"],
    ids=["plain-http-on-the-network", "no-host", "not-http"],
)
def test_a_wrong_address_is_said_before_anything_is_made(boot: Boot, url: str, data_dir: Path):
    kiosk = boot(FLAG)

    set_up(kiosk, url, "k7q2-m9xa")

    expected = "tech.provision.missing" if url == "https://" else "error.provision.bad_url"
    assert kiosk.message() == kiosk.shows(expected)
    assert technicians(kiosk) == []
    assert not (data_dir / "provisioned.toml").exists()


@pytest.mark.parametrize(
    ("pin", "again", "said"),
    [
        ("4826", "4827", None),
        ("1111", "1111", WeakPin()),
        ("482", "482", InvalidPin(min_length=4, max_length=8)),
    ],
    ids=["differ", "trivial", "too-short"],
)
def test_a_pin_that_cannot_be_the_technicians_makes_nothing(
    boot: Boot, crm: CrmServer, pin: str, again: str, said: KioskError | None
):
    kiosk = boot(FLAG)
    code = crm.store.new_code()

    set_up(kiosk, crm.url, code, pin=pin, again=again)

    if said is None:
        assert kiosk.message() == kiosk.shows("staff.pins_differ")
    else:
        assert kiosk.message() == kiosk.app.error_text(said)
    assert technicians(kiosk) == []
    assert crm.store.view()["devices"] == {}  # the code was not spent


def test_a_card_tapped_at_first_boot_shows_the_reader_works_and_serves_nobody(boot: Boot):
    kiosk = boot(FLAG)

    kiosk.tap_card("A1B2C3D4")

    assert kiosk.screen == "first_boot"
    assert kiosk.message() == kiosk.shows("tech.reader_test_ok", reader="sim", card="****C3D4")


# -- who cannot reach it -----------------------------------------------------------------


def test_a_provisioned_kiosk_never_shows_the_setup_a_shopper_meets_the_pin(boot: Boot):
    kiosk = boot(FLAG, 'crm.url="https://crm.example"', staff=("technician",))

    assert kiosk.screen == "attract"
    kiosk.tick(minutes=10)
    assert kiosk.screen == "attract"
    for _ in range(5):  # the only way to provisioning: the gesture, then a technician's PIN
        kiosk.press("shop")
    assert kiosk.screen == "pin"
    kiosk.sign_in("Technician", "0000")
    assert kiosk.screen == "pin"
    assert kiosk.message() == kiosk.app.error_text(WrongPin(attempts_left=2))
    kiosk.tick(minutes=10)  # walked away: back to the attract screen, not the setup
    assert kiosk.screen == "attract"


def test_a_provisioned_kiosk_without_a_technician_does_not_open_the_setup(boot: Boot):
    # Provisioned by the console with the PIN given there, or the PIN lost: not first boot.
    kiosk = boot(FLAG, 'crm.url="https://crm.example"')

    assert kiosk.screen == "attract"


def test_an_unprovisioned_kiosk_that_had_a_technician_does_not_open_the_setup(boot: Boot):
    # Deprovisioned later, or a power cut after the PIN was saved: the technician's PIN
    # guards provisioning from then on, through the gesture.
    kiosk = boot(FLAG, staff=("technician",))

    assert kiosk.screen == "attract"
    technician = kiosk.staff_id("Technician")
    kiosk.service.staff.disable(technician, actor=CLI)  # even with that account disabled
    kiosk = boot(FLAG)
    assert kiosk.screen == "attract"


def test_once_the_pin_is_saved_an_idle_kiosk_leaves_the_setup_for_good(boot: Boot, crm: CrmServer):
    kiosk = boot(FLAG)
    set_up(kiosk, crm.url, "zzzz-zzzz")  # the PIN saved, the code refused

    kiosk.tick(minutes=10)  # the technician walked away

    assert kiosk.screen == "attract"
    kiosk = boot(FLAG)  # and after a power cut
    assert kiosk.screen == "attract"


def test_a_power_cut_mid_write_leaves_the_kiosk_not_set_up(
    boot: Boot, crm: CrmServer, data_dir: Path
):
    # provisioned.toml is written whole (a temporary file, fsync, rename): a cut before
    # the rename leaves the temporary file only, which counts for nothing.
    kiosk = boot(FLAG)
    (data_dir / "provisioned.toml.new").write_bytes(b'[crm]\nurl = "https://cr')

    kiosk = boot(FLAG)

    assert kiosk.screen == "first_boot"
    set_up(kiosk, crm.url, crm.store.new_code())
    assert kiosk.message() == kiosk.shows("tech.provision.done", device="kiosk-test")


def test_the_console_provisioning_ends_the_first_boot_too(
    boot: Boot, crm: CrmServer, data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    # A technician with a keyboard and no touch screen: `kiosk provision` on the console.
    config = tmp_path / "kiosk.toml"
    config.write_text(
        '[device]\nid = "kiosk-test"\nfirst_boot_setup = true\n[security]\npin_scrypt_n = 1024\n'
    )
    monkeypatch.setenv("KIOSK_CONFIG", str(config))
    saved, sys.stdin = sys.stdin, io.StringIO(f"{PIN}\n{PIN}\n")
    try:
        code = crm.store.new_code()
        argv = ["provision", "--crm", crm.url, "--code", code, "--data-dir", str(data_dir)]
        assert main(argv) == 0
    finally:
        sys.stdin = saved

    kiosk = boot(FLAG)

    assert kiosk.screen == "attract"
    assert len(technicians(kiosk)) == 1
