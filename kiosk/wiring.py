"""The one place that reads the configuration and picks concrete hardware."""

from __future__ import annotations

from pathlib import Path

from drivers.factory import ReaderSet
from drivers.feedback import Feedback, NoFeedback, SerialFeedback
from kiosk.config import KioskConfig


def reader_urls(config: KioskConfig) -> list[str]:
    """The configured reader URLs; the simulated reader when none are set in simulator mode."""
    if config.readers.urls:
        return list(config.readers.urls)
    return ["sim:"] if config.device.simulated else []


def build_readers(config: KioskConfig, data_dir: Path) -> ReaderSet:
    """All configured readers, debounced; `sim:` listens on a socket in `data_dir`."""
    return ReaderSet.from_urls(
        reader_urls(config),
        data_dir=data_dir,
        debounce_seconds=config.readers.debounce_ms / 1000,
    )


def build_feedback(config: KioskConfig) -> Feedback:
    """The buzzer/LED, if one is configured."""
    url = config.readers.feedback
    if not url:
        return NoFeedback()
    if url == "sim:":
        from sim.feedback import SimFeedback

        return SimFeedback()
    return SerialFeedback(url.removeprefix("serial:"))
