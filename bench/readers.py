"""The readers benchmark: from a simulated card entering the field to `CardPresented`.

Per driver, p50 and p99 over many presentations. Each driver's reference is the bare
library loop on the same simulated transport in the same run, so the ratio and the
difference show what our driver adds:

- serial (rdm6300 and line over a pty): a bare pyserial read loop with the same parser;
- NFC (nfcpy's `udp:` device against the simulated tag): a bare `ContactlessFrontend.connect`
  loop whose on-connect records the time;
- the in-process simulator: a bare `queue.Queue` hand-over between two threads.

Aim: our driver adds at most 10 ms to the library's own loop (p50).
"""

from __future__ import annotations

import queue
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

from bench.common import Scale, percentile, progress, report
from drivers.base import Backoff, CardPresented, ReaderEvent, ReaderState, ReaderStatusChanged
from drivers.serial_protocols import LineParser, Rdm6300Parser
from drivers.serial_reader import SerialReader
from sim.reader import SimReader
from sim.serial_reader import PtySerialReaderSim

AIM = "value - reference <= 10 ms (p50)"
# Cards per driver, and per NFC loop (each NFC card waits for a poll of 50 ms or more).
COUNTS: dict[Scale, tuple[int, int]] = {"full": (300, 60), "quick": (50, 10), "smoke": (10, 5)}


def uids(count: int) -> list[str]:
    return [f"{0x1A00000000 + i:010X}" for i in range(count)]


class Arrivals:
    """CardPresented times (perf_counter) by UID, with a wait."""

    def __init__(self) -> None:
        self.times: dict[str, float] = {}
        self._cond = threading.Condition()

    def __call__(self, event: ReaderEvent) -> None:
        if isinstance(event, CardPresented):
            now = time.perf_counter()
            with self._cond:
                self.times.setdefault(event.uid, now)
                self._cond.notify_all()

    def wait(self, uid: str, timeout: float = 10.0) -> float:
        with self._cond:
            if not self._cond.wait_for(lambda: uid in self.times, timeout):
                raise RuntimeError(f"card {uid} never arrived")
            return self.times[uid]


def _serial_driver(directory: Path, protocol: str, count: int) -> list[float]:
    sim = PtySerialReaderSim(directory, protocol)
    reader = SerialReader("bench", str(sim.path), protocol=protocol, backoff=Backoff(0.01, 0.1))
    arrivals = Arrivals()
    connected = threading.Event()

    def sink(event: ReaderEvent) -> None:
        arrivals(event)
        if isinstance(event, ReaderStatusChanged) and event.state == ReaderState.CONNECTED:
            connected.set()

    reader.start(sink)
    connected.wait(10)
    try:
        return [_present_and_time(sim, uid, arrivals.wait) for uid in uids(count)]
    finally:
        reader.stop()
        sim.close()


def _present_and_time(sim: PtySerialReaderSim, uid: str, wait: Callable[[str], float]) -> float:
    if sim.protocol == "line":
        start = time.perf_counter()
        sim.present(uid)
        return wait(uid) - start
    sim.present(uid)
    arrived = wait(uid)
    # The simulator notes the first frame's time right after writing it, under its lock,
    # and the reader can deliver the card before that note: taking the lock once (a wait
    # for no further frame) lets it land. Else this card would be timed from the last one.
    sim.wait_frames(0)
    assert sim.first_frame_at is not None
    return arrived - sim.first_frame_at


def _serial_bare(directory: Path, protocol: str, count: int) -> list[float]:
    import serial

    sim = PtySerialReaderSim(directory, protocol)
    port = serial.serial_for_url(str(sim.path), baudrate=9600, timeout=0.05)
    arrivals = Arrivals()
    stop = threading.Event()
    parser: Rdm6300Parser | LineParser = Rdm6300Parser() if protocol == "rdm6300" else LineParser()

    def loop() -> None:
        while not stop.is_set():
            data = port.read(max(1, port.in_waiting))
            for uid in parser.feed(data) if data else ():
                arrivals(CardPresented(uid, protocol, "bare"))

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    try:
        return [_present_and_time(sim, uid, arrivals.wait) for uid in uids(count)]
    finally:
        stop.set()
        thread.join(5)
        port.close()
        sim.close()


def _sim_driver(count: int) -> list[float]:
    reader = SimReader("bench")
    arrivals = Arrivals()
    reader.start(arrivals)
    out = []
    try:
        for uid in uids(count):
            start = time.perf_counter()
            reader.present(uid)
            out.append(arrivals.wait(uid) - start)
    finally:
        reader.stop()
    return out


def _queue_bare(count: int) -> list[float]:
    handover: queue.Queue[str | None] = queue.Queue()
    arrivals = Arrivals()

    def consumer() -> None:
        while (uid := handover.get()) is not None:
            arrivals(CardPresented(uid, "bare", "bare"))

    thread = threading.Thread(target=consumer, daemon=True)
    thread.start()
    out = []
    for uid in uids(count):
        start = time.perf_counter()
        handover.put(uid)
        out.append(arrivals.wait(uid) - start)
    handover.put(None)
    thread.join(5)
    return out


def _report(name: str, ours: list[float], bare: list[float], note: str) -> None:
    for pct in (50, 99):
        report(
            f"{name}_p{pct}",
            percentile(ours, pct) * 1000,
            "ms",
            percentile(bare, pct) * 1000,
            aim=AIM if pct == 50 else None,
            note=note,
        )


def main(scale: Scale) -> int:
    count, nfc_count = COUNTS[scale]
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        progress("in-process simulator")
        _report("sim_present", _sim_driver(count), _queue_bare(count), "reference: queue.Queue")
        for protocol in ("rdm6300", "line"):
            progress(f"serial {protocol} over a pty")
            bare = _serial_bare(directory, protocol, count)
            ours = _serial_driver(directory, protocol, count)
            _report(f"serial_{protocol}_present", ours, bare, "reference: bare pyserial loop")
        try:
            from bench.readers_nfc import nfc_figures
        except ImportError:
            progress("NFC: skipped (drivers.nfc not available)")
        else:
            progress("NFC over nfcpy's udp: device")
            ours, bare = nfc_figures(nfc_count)
            _report("nfc_udp_present", ours, bare, "reference: bare nfcpy connect loop")
    return 0
