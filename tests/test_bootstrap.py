"""The composition root builds every part from the config; parts register themselves."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from drivers.factory import ReaderUrlError, build_reader, reader_schemes
from drivers.feedback import NoFeedback, SerialFeedback, build_feedback
from kiosk.bootstrap import Appliance
from kiosk.config import READER_SCHEMES
from sim.feedback import SimFeedback
from sim.reader import SimReader
from tests.conftest import make_config

ROOT = Path(__file__).resolve().parent.parent


def test_every_scheme_the_config_accepts_has_a_registered_reader():
    assert set(reader_schemes()) == set(READER_SCHEMES)


def test_the_drivers_know_no_simulator_until_the_composition_root_registers_it():
    probe = (
        "from drivers.factory import ReaderUrlError, build_reader\n"
        "try:\n    build_reader('sim:')\nexcept ReaderUrlError as e:\n    print(e)\n"
        "import sys; print(sorted(n for n in sys.modules if n.split('.')[0] == 'sim'))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=ROOT
    ).stdout

    assert "unknown reader kind 'sim' (nfc, serial, evdev)" in out
    assert out.strip().endswith("[]")


def test_a_simulated_kiosk_gets_the_simulated_reader_on_its_control_socket(tmp_path: Path):
    appliance = Appliance(make_config("device.simulated=true"), tmp_path)

    readers = appliance.readers()

    assert [type(r) for r in readers.readers] == [SimReader]
    reader = readers.readers[0]
    assert isinstance(reader, SimReader)
    assert reader.socket_path == tmp_path / "sim-reader.sock"


def test_configured_readers_and_feedback_are_built_by_their_registered_kind(tmp_path: Path):
    appliance = Appliance(
        make_config('readers.urls=["sim:counter"]', 'readers.feedback="sim:"'), tmp_path
    )

    assert [r.name for r in appliance.readers().readers] == ["sim:counter"]
    assert isinstance(appliance.feedback(), SimFeedback)
    assert isinstance(build_feedback(""), NoFeedback)
    assert isinstance(build_feedback("serial:loop://"), SerialFeedback)


def test_an_unknown_reader_kind_names_the_registered_ones():
    with pytest.raises(
        ReaderUrlError, match=r"unknown reader kind 'hid' \(nfc, serial, evdev, sim\)"
    ):
        build_reader("hid:/dev/hidraw0")


def test_a_command_that_only_reads_does_not_create_a_database(tmp_path: Path):
    from kiosk.errors import StorageUnavailable

    appliance = Appliance(make_config(), tmp_path / "data")

    with pytest.raises(StorageUnavailable, match="there is no kiosk database"):
        appliance.open_service(create=False)
    assert not (tmp_path / "data" / "kiosk.db").exists()


def test_no_sync_worker_is_built_without_a_crm(tmp_path: Path):
    appliance = Appliance(make_config(), tmp_path)

    assert appliance.background_sync() is None
    service = appliance.open_service()
    try:
        assert appliance.sync_worker(service).client is None
    finally:
        service.close()
