"""A simulated buzzer/LED that remembers what it was told, for tests and the demo."""

from __future__ import annotations

import threading

from drivers.feedback import Signal


class SimFeedback:
    def __init__(self) -> None:
        self.signals: list[Signal] = []
        self._cond = threading.Condition()

    def signal(self, signal: Signal) -> None:
        with self._cond:
            self.signals.append(signal)
            self._cond.notify_all()

    def close(self) -> None:
        pass

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Signal]:
        """Wait until `count` signals were given; returns them."""
        with self._cond:
            self._cond.wait_for(lambda: len(self.signals) >= count, timeout)
            return list(self.signals)
