"""Reader URLs, serial specifics on a pty, open-failure hints, feedback, the control socket."""

from __future__ import annotations

import errno
import os
import threading
from pathlib import Path

import pytest
import serial

from drivers.base import ReaderState
from drivers.factory import ReaderUrlError, build_reader
from drivers.feedback import SerialFeedback, Signal
from drivers.serial_protocols import rdm6300_frame
from drivers.serial_reader import SerialReader, open_fault
from sim.feedback import SimFeedback
from sim.reader import SimReader, send_control
from sim.serial_reader import PtySerialReaderSim
from tests.reader_rigs import FAST, EventLog


@pytest.mark.parametrize(
    ("url", "kind", "attrs"),
    [
        ("serial:/dev/ttyUSB0", "SerialReader", {"url": "/dev/ttyUSB0", "protocol": "rdm6300"}),
        (
            "serial:socket://127.0.0.1:7000?protocol=line&prefix=ID:&logging=debug",
            "SerialReader",
            {"url": "socket://127.0.0.1:7000?logging=debug", "protocol": "line"},
        ),
        ("serial:loop://?protocol=line&baud=115200", "SerialReader", {"baudrate": 115200}),
        ("serial:/dev/ttyS0?removal_ms=500", "SerialReader", {"removal_timeout": 0.5}),
        ("sim:", "SimReader", {"name": "sim:"}),
        ("nfc:udp:127.0.0.1:54321", "NfcReader", {"name": "nfc:udp:127.0.0.1:54321"}),
    ],
)
def test_reader_urls_build_the_right_driver(url, kind, attrs):
    reader = build_reader(url)
    assert type(reader).__name__ == kind
    for name, value in attrs.items():
        assert getattr(reader, name) == value


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("usb", "starts with nfc:"),
        ("bluetooth:1", "unknown reader kind"),
        ("serial:", "say which port"),
        ("serial:/dev/ttyUSB0?protocol=wiegand", "rdm6300 or line"),
        ("serial:/dev/ttyUSB0?baud=fast", "whole numbers"),
        ("nfc:", "say which device"),
    ],
)
def test_bad_reader_urls_say_what_is_wrong(url, says):
    with pytest.raises(ReaderUrlError, match=says):
        build_reader(url)


@pytest.mark.parametrize(
    ("exc", "state", "hint"),
    [
        (serial.SerialException(errno.ENOENT, "could not open port"), "disconnected", "plugged"),
        (serial.SerialException(errno.EACCES, "Permission denied"), "error", "dialout"),
        (serial.SerialException(errno.EBUSY, "Device or resource busy"), "error", "ModemManager"),
        (ValueError("bad baud"), "error", "URL"),
    ],
)
def test_open_failures_get_a_hint_a_technician_can_act_on(exc, state, hint):
    fault = open_fault("/dev/ttyUSB0", exc)
    assert fault.state == state
    assert hint in fault.hint


def test_a_reader_that_is_not_there_says_so_and_keeps_trying(tmp_path: Path):
    reader = SerialReader("gone", str(tmp_path / "ttyUSB9"), backoff=FAST)
    log = EventLog()
    reader.start(log)
    try:
        status = log.status(ReaderState.DISCONNECTED)
        sim = PtySerialReaderSim(tmp_path, name="ttyUSB9")  # plugged in later
        log.status(ReaderState.CONNECTED)
        sim.present("1A2B3C4D5E")
        log.presented("1A2B3C4D5E")
    finally:
        reader.stop()
        sim.close()
    assert "no serial reader" in status.message and "plugged in" in status.hint


def test_line_reader_options_from_the_url_over_a_pty(tmp_path: Path):
    sim = PtySerialReaderSim(tmp_path, "line", prefix=b"ID:", suffix=b";")
    reader = build_reader(f"serial:{sim.path}?protocol=line&prefix=ID:&suffix=;")
    log = EventLog()
    reader.start(log)
    try:
        log.status(ReaderState.CONNECTED)
        sim.present("00C0FFEE")
        log.presented("00C0FFEE")
    finally:
        reader.stop()
        sim.close()


def test_a_frame_with_a_wrong_checksum_over_the_wire_is_no_card(tmp_path: Path):
    sim = PtySerialReaderSim(tmp_path)
    reader = SerialReader("rdm", str(sim.path), backoff=FAST)
    log = EventLog()
    reader.start(log)
    try:
        log.status(ReaderState.CONNECTED)
        bad = bytearray(rdm6300_frame("1A2B3C4D5E"))
        bad[12] ^= 0x01
        sim.send_raw(bytes(bad) + rdm6300_frame("0011223344"))
        log.presented("0011223344")
    finally:
        reader.stop()
        sim.close()
    assert {getattr(e, "uid", None) for e in log.cards()} == {"0011223344"}


def test_feedback_over_a_serial_line(tmp_path: Path):
    master, slave = os.openpty()
    os.set_blocking(master, True)
    feedback = SerialFeedback(os.ttyname(slave), success=b"OK\n", failure=b"NO\n")
    try:
        feedback.signal(Signal.SUCCESS)
        feedback.signal(Signal.FAILURE)
        got = b""
        while got.count(b"\n") < 2:
            got += os.read(master, 64)
    finally:
        feedback.close()
        os.close(master)
        os.close(slave)
    assert got == b"OK\nNO\n"


def test_feedback_that_fails_never_raises(tmp_path: Path):
    feedback = SerialFeedback(str(tmp_path / "no-such-buzzer"))
    feedback.signal(Signal.SUCCESS)
    assert feedback.failures == 1


def test_the_simulated_buzzer_records_signals():
    sim = SimFeedback()
    threading.Thread(target=sim.signal, args=(Signal.FAILURE,)).start()
    assert sim.wait_for(1) == [Signal.FAILURE]


def test_the_control_socket_presents_cards_to_a_running_reader(tmp_path: Path):
    reader = SimReader("sim", socket_path=tmp_path / "sim.sock", backoff=FAST)
    log = EventLog()
    reader.start(log)
    try:
        log.status(ReaderState.CONNECTED)
        assert send_control(tmp_path / "sim.sock", "tap 1a:2b:3c:4d") == "ok"
        log.presented("1A2B3C4D")
        log.removed("1A2B3C4D")
        assert send_control(tmp_path / "sim.sock", "tap zz").startswith("error:")
    finally:
        reader.stop()
    assert not (tmp_path / "sim.sock").exists()  # a stopped kiosk leaves no stale socket
