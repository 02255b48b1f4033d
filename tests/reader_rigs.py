"""Test rigs: one per reader driver that can run here, each with the simulator's controls.

A rig builds the real driver on a real transport (a pty, `loop://`, nfcpy's `udp:`), and
offers the same controls whatever the driver: present, remove, garbage, unplug, replug.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from drivers.base import (
    Backoff,
    CardPresented,
    CardRemoved,
    ReaderEvent,
    ReaderState,
    ReaderStatusChanged,
)
from drivers.serial_reader import SerialReader
from sim.reader import SimReader
from sim.serial_reader import PtySerialReaderSim

FAST = Backoff(first=0.01, most=0.2)


class EventLog:
    """Every event a reader sent, with a way to wait for one without sleeping."""

    def __init__(self) -> None:
        self.events: list[ReaderEvent] = []
        self._cond = threading.Condition()

    def __call__(self, event: ReaderEvent) -> None:
        with self._cond:
            self.events.append(event)
            self._cond.notify_all()

    def wait_for(
        self, predicate: Callable[[ReaderEvent], bool], timeout: float = 15.0, *, after: int = 0
    ) -> ReaderEvent:
        """The first event from index `after` on that matches; fails after `timeout`."""
        found: list[ReaderEvent] = []

        def match() -> bool:
            found[:] = [e for e in self.events[after:] if predicate(e)][:1]
            return bool(found)

        with self._cond:
            if not self._cond.wait_for(match, timeout):
                raise AssertionError(f"no matching event within {timeout} s; got {self.events}")
        return found[0]

    def mark(self) -> int:
        with self._cond:
            return len(self.events)

    def cards(self, after: int = 0) -> list[ReaderEvent]:
        with self._cond:
            return [e for e in self.events[after:] if isinstance(e, CardPresented | CardRemoved)]

    def presented(self, uid: str, after: int = 0) -> CardPresented:
        event = self.wait_for(lambda e: isinstance(e, CardPresented) and e.uid == uid, after=after)
        assert isinstance(event, CardPresented)
        return event

    def removed(self, uid: str, after: int = 0) -> CardRemoved:
        event = self.wait_for(lambda e: isinstance(e, CardRemoved) and e.uid == uid, after=after)
        assert isinstance(event, CardRemoved)
        return event

    def status(self, *states: ReaderState, after: int = 0) -> ReaderStatusChanged:
        event = self.wait_for(
            lambda e: isinstance(e, ReaderStatusChanged) and e.state in states, after=after
        )
        assert isinstance(event, ReaderStatusChanged)
        return event


@dataclass
class Rig:
    """A driver on its transport, and the simulator's controls."""

    name: str
    reader: Any
    uid: str  # a card id this kind of reader can read
    other_uid: str
    technology: str
    present: Callable[[str], None]
    remove: Callable[[], None]
    garbage: Callable[[], object]
    unplug: Callable[[], None]
    replug: Callable[[], None]
    holds: bool  # whether the reader reports presence (False: each code is a tap)
    hold: Callable[[], object] = lambda: None  # wait while a held card is seen several times
    closers: list[Callable[[], None]] = field(default_factory=list)

    def close(self) -> None:
        self.reader.stop()
        for closer in self.closers:
            closer()


def sim_rig(tmp: Path) -> Rig:
    reader = SimReader("sim", backoff=FAST)
    return Rig(
        "sim",
        reader,
        "1A2B3C4D5E",
        "0A0B0C0D0E",
        "ISO14443-A",
        present=reader.present,
        remove=reader.remove,
        garbage=reader.send_garbage,
        unplug=reader.unplug,
        replug=reader.replug,
        holds=True,
    )


def pty_rig(tmp: Path, protocol: str) -> Rig:
    sim = PtySerialReaderSim(tmp, protocol)
    reader = SerialReader(f"serial-{protocol}", str(sim.path), protocol=protocol, backoff=FAST)
    return Rig(
        f"{protocol}-pty",
        reader,
        "1A2B3C4D5E",
        "0A0B0C0D0E",
        "EM4100" if protocol == "rdm6300" else "line",
        present=sim.present,
        remove=sim.remove,
        garbage=sim.send_garbage,
        unplug=sim.unplug,
        replug=sim.replug,
        holds=protocol == "rdm6300",
        hold=(lambda: sim.wait_frames(5)) if protocol == "rdm6300" else (lambda: None),
        closers=[sim.close],
    )


def loop_rig(tmp: Path) -> Rig:
    """pyserial's `loop://`: what is written to the port is read back by the driver."""
    reader = SerialReader("serial-loop", "loop://", protocol="line", backoff=FAST)

    def write(data: bytes) -> None:
        port = reader.port
        assert port is not None, "the loop port is not open"
        port.write(data)

    def unplug() -> None:
        port = reader.port
        if port is not None:
            port.close()  # the driver's next read fails, as when a cable is pulled

    return Rig(
        "loop",
        reader,
        "1A2B3C4D5E",
        "0A0B0C0D0E",
        "line",
        present=lambda uid: write(uid.encode() + b"\r\n"),
        remove=lambda: None,
        garbage=lambda: write(b"\x00\xff\x13garbage\xfe\r\n\x02\x03"),
        unplug=unplug,
        replug=lambda: None,  # the driver reopens loop:// by itself
        holds=False,
    )


def nfc_rig(tmp: Path) -> Rig:
    """nfcpy's own `udp:` device polling the simulated tag."""
    from drivers.nfc import NfcReader
    from sim.nfc_tag import SimulatedNfcField

    field = SimulatedNfcField()
    reader = NfcReader("nfc", field.device_path, backoff=FAST)

    def hold() -> None:
        for _ in range(3):  # nfcpy checks the held tag's presence again and again
            field.wait_polled()

    return Rig(
        "nfc-udp",
        reader,
        "1A2B3C4D",
        "2B3C4D5E6F7081",
        "ISO14443-A",
        present=field.present,
        remove=field.remove,
        garbage=field.send_garbage,
        unplug=field.unplug,
        replug=field.replug,
        holds=True,
        hold=hold,
        closers=[field.close],
    )


RIGS: dict[str, Callable[[Path], Rig]] = {
    "nfc-udp": nfc_rig,
    "sim": sim_rig,
    "rdm6300-pty": lambda tmp: pty_rig(tmp, "rdm6300"),
    "line-pty": lambda tmp: pty_rig(tmp, "line"),
    "loop": loop_rig,
}


def started(rig: Rig) -> Iterator[tuple[Rig, EventLog]]:
    log = EventLog()
    rig.reader.start(log)
    try:
        log.status(ReaderState.CONNECTED)
        yield rig, log
    finally:
        rig.close()
