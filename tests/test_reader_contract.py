"""One contract, every reader driver that runs here, each on a real transport."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from drivers.base import CardPresented, CardRemoved, ReaderState
from drivers.factory import ReaderSet
from tests.reader_rigs import RIGS, EventLog, Rig, started


@pytest.fixture(params=sorted(RIGS))
def rig(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Rig, EventLog]]:
    yield from started(RIGS[request.param](tmp_path))


def test_a_presented_card_is_one_event_with_its_uid(rig):
    rig, log = rig
    mark = log.mark()

    rig.present(rig.uid)

    event = log.presented(rig.uid, after=mark)
    assert event.technology == rig.technology
    assert event.reader == rig.reader.name


def test_a_card_held_in_the_field_is_one_presentation_and_one_removal(rig):
    rig, log = rig
    mark = log.mark()

    rig.present(rig.uid)
    log.presented(rig.uid, after=mark)
    rig.hold()
    rig.remove()
    log.removed(rig.uid, after=mark)

    assert [type(e) for e in log.cards(mark)] == [CardPresented, CardRemoved]


def test_a_second_card_is_its_own_presentation(rig):
    rig, log = rig
    mark = log.mark()

    rig.present(rig.uid)
    log.presented(rig.uid, after=mark)
    rig.remove()
    log.removed(rig.uid, after=mark)
    rig.present(rig.other_uid)
    log.presented(rig.other_uid, after=mark)

    assert [e.uid for e in log.cards(mark) if isinstance(e, CardPresented)] == [
        rig.uid,
        rig.other_uid,
    ]


def test_garbage_is_never_a_card_and_reading_goes_on(rig):
    rig, log = rig
    mark = log.mark()

    rig.garbage()
    rig.present(rig.uid)

    log.presented(rig.uid, after=mark)
    assert {e.uid for e in log.cards(mark)} == {rig.uid}
    assert rig.reader.status.state == ReaderState.CONNECTED


def test_unplug_is_reported_and_the_reader_recovers(rig):
    rig, log = rig
    mark = log.mark()

    rig.unplug()
    lost = log.status(ReaderState.DISCONNECTED, ReaderState.ERROR, after=mark)
    rig.replug()
    back = log.status(ReaderState.CONNECTED, after=log.events.index(lost))
    rig.present(rig.uid)

    assert lost.message  # a technician reads this
    assert log.presented(rig.uid, after=log.events.index(back))


def test_stop_leaves_no_reader_thread_behind(tmp_path: Path):
    for name, make in RIGS.items():
        (tmp_path / name).mkdir()
        rig = make(tmp_path / name)
        log = EventLog()
        rig.reader.start(log)
        log.status(ReaderState.CONNECTED)
        rig.close()
        assert rig.reader.status.state == ReaderState.STOPPED
    alive = [t.name for t in threading.enumerate() if t.name.startswith("reader-")]
    assert alive == []


class FakeMonotonic:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_the_same_card_again_within_the_window_is_one_presentation(tmp_path: Path):
    clock = FakeMonotonic()
    rig = RIGS["sim"](tmp_path)
    readers = ReaderSet([rig.reader], debounce_seconds=2.0, clock=clock)
    log = EventLog()
    readers.start(log)
    try:
        log.status(ReaderState.CONNECTED)
        rig.present(rig.uid)
        rig.remove()
        log.removed(rig.uid)
        clock.now += 1.0  # a flicker at the edge of the field
        rig.present(rig.uid)
        rig.remove()
        rig.present(rig.other_uid)  # a marker: everything before it was handled
        log.presented(rig.other_uid)
        clock.now += 5.0  # a real second tap, later
        rig.remove()
        rig.present(rig.uid)
        log.wait_for(lambda e: isinstance(e, CardPresented) and e.uid == rig.uid, after=3)
    finally:
        readers.stop()

    presented = [e.uid for e in log.cards() if isinstance(e, CardPresented)]
    assert presented == [rig.uid, rig.other_uid, rig.uid]


def test_an_nfc_and_a_serial_reader_work_side_by_side(tmp_path: Path):
    nfc = RIGS["nfc-udp"](tmp_path)
    serial = RIGS["rdm6300-pty"](tmp_path)
    readers = ReaderSet([nfc.reader, serial.reader], debounce_seconds=1.5)
    log = EventLog()
    readers.start(log)
    try:
        nfc.present(nfc.uid)  # both cards at once; each reader picks its own up
        serial.present(serial.uid)
        from_nfc = log.presented(nfc.uid)
        from_serial = log.presented(serial.uid)
    finally:
        readers.stop()
        for closer in nfc.closers + serial.closers:
            closer()
    assert (from_nfc.reader, from_nfc.technology) == ("nfc", "ISO14443-A")
    assert (from_serial.reader, from_serial.technology) == ("serial-rdm6300", "EM4100")
