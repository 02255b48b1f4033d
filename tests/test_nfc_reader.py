"""The NFC driver's own concerns: hints for devices that will not open, technologies."""

from __future__ import annotations

import errno
from pathlib import Path

import pytest

from drivers.base import CardPresented, ReaderState
from drivers.nfc import NfcReader, open_fault
from sim.nfc_tag import SimulatedNfcField
from tests.reader_rigs import FAST, EventLog


@pytest.mark.parametrize(
    ("number", "state", "says", "hint"),
    [
        (errno.EBUSY, "error", "busy", "pcscd"),
        (errno.EACCES, "error", "no permission", "udev rule"),
        (errno.ENODEV, "disconnected", "no NFC reader found", "plugged in"),
        (errno.EIO, "error", "cannot open", "readers.urls"),
    ],
)
def test_open_failures_get_a_hint(number, state, says, hint):
    fault = open_fault("usb", OSError(number, "x"))
    assert fault.state == state
    assert says in fault.message
    assert hint in fault.hint


def test_a_kernel_driver_holding_the_reader_names_the_blacklist_line(monkeypatch):
    monkeypatch.setattr("drivers.nfc._kernel_driver_bound", lambda: True)
    assert "blacklist pn533_usb" in open_fault("usb", None).hint


def test_no_reader_at_a_usb_path_is_reported_and_retried(tmp_path: Path):
    reader = NfcReader("nfc", "usb:ffff:ffff", backoff=FAST)
    log = EventLog()
    reader.start(log)
    try:
        status = log.status(ReaderState.DISCONNECTED, ReaderState.ERROR)
    finally:
        reader.stop()
    assert "usb:ffff:ffff" in status.message and status.hint


def test_a_seven_byte_uid_is_read_whole():
    field = SimulatedNfcField()
    reader = NfcReader("nfc", field.device_path, backoff=FAST)
    log = EventLog()
    reader.start(log)
    try:
        log.status(ReaderState.CONNECTED)
        field.present("3A2B3C4D5E6F70")
        event = log.presented("3A2B3C4D5E6F70")
    finally:
        reader.stop()
        field.close()
    assert isinstance(event, CardPresented) and event.technology == "ISO14443-A"


def test_uids_the_simulator_cannot_play_are_refused():
    with SimulatedNfcField() as field, pytest.raises(ValueError, match="NXP"):
        field.present("04A1B2C3")


def test_a_wedged_reader_is_reported_and_recovers():
    field = SimulatedNfcField()
    reader = NfcReader("nfc", field.device_path, backoff=FAST, wedge_timeout=0.3)
    log = EventLog()
    reader.start(log)
    try:
        log.status(ReaderState.CONNECTED)
        mark = log.mark()
        field.freeze()
        wedged = log.status(ReaderState.ERROR, after=mark)
        field.replug()
        field.present("1A2B3C4D")
        log.presented("1A2B3C4D", after=mark)
    finally:
        reader.stop()
        field.close()
    assert "stopped answering" in wedged.message and "replug" in wedged.hint
