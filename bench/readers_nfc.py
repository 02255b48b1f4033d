"""The NFC half of the readers benchmark: our driver vs a bare nfcpy loop, same sim tag."""

from __future__ import annotations

import random
import threading
import time
from typing import Any

from drivers.base import CardPresented, CardRemoved, ReaderEvent
from drivers.nfc import NfcReader
from sim.nfc_tag import SimulatedNfcField

INTERVAL = 0.05  # the polling interval both loops use


def _uids(count: int) -> list[str]:
    return [f"1A{i:06X}" for i in range(count)]


class _Seen:
    def __init__(self) -> None:
        self.arrived: dict[str, float] = {}
        self.left: set[str] = set()
        self.cond = threading.Condition()

    def arrive(self, uid: str) -> None:
        now = time.perf_counter()
        with self.cond:
            self.arrived.setdefault(uid, now)
            self.cond.notify_all()

    def leave(self, uid: str) -> None:
        with self.cond:
            self.left.add(uid)
            self.cond.notify_all()

    def wait(self, predicate: Any, timeout: float = 20.0) -> None:
        with self.cond:
            if not self.cond.wait_for(predicate, timeout):
                raise RuntimeError("the simulated tag was not read in time")


def _run(field: SimulatedNfcField, seen: _Seen, count: int) -> list[float]:
    out = []
    rng = random.Random(14443)
    for uid in _uids(count):
        # A shopper's card arrives at any moment of the polling cycle, not just after the
        # last card left: wait a random part of two polling intervals first.
        time.sleep(rng.uniform(0, 2 * INTERVAL))
        start = time.perf_counter()
        field.present(uid)
        seen.wait(lambda uid=uid: uid in seen.arrived)
        out.append(seen.arrived[uid] - start)
        field.remove()
        seen.wait(lambda uid=uid: uid in seen.left)
    return out


def _ours(count: int) -> list[float]:
    field = SimulatedNfcField()
    seen = _Seen()

    def sink(event: ReaderEvent) -> None:
        if isinstance(event, CardPresented):
            seen.arrive(event.uid)
        elif isinstance(event, CardRemoved):
            seen.leave(event.uid)

    reader = NfcReader("bench", field.device_path, interval=INTERVAL)
    reader.start(sink)
    try:
        return _run(field, seen, count)
    finally:
        reader.stop()
        field.close()


def _bare(count: int) -> list[float]:
    import nfc

    field = SimulatedNfcField()
    seen = _Seen()
    stop = threading.Event()

    def on_connect(tag: Any) -> bool:
        seen.arrive(bytes(tag.identifier).hex().upper())
        return True

    def on_release(tag: Any) -> None:
        seen.leave(bytes(tag.identifier).hex().upper())

    def loop() -> None:
        with nfc.ContactlessFrontend(field.device_path) as clf:
            while not stop.is_set():
                clf.connect(
                    rdwr={
                        "on-connect": on_connect,
                        "on-release": on_release,
                        "interval": INTERVAL,
                        "iterations": 5,  # nfcpy's own pacing: sleep `interval` between
                        "beep-on-connect": False,
                        "targets": ["106A"],
                    },
                    terminate=stop.is_set,
                )

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    try:
        return _run(field, seen, count)
    finally:
        stop.set()
        thread.join(10)
        field.close()


def nfc_figures(count: int) -> tuple[list[float], list[float]]:
    """(our driver's times, the bare loop's times), in seconds."""
    bare = _bare(count)
    return _ours(count), bare
