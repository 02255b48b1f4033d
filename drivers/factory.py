"""The one place that turns reader URLs from the config into reader objects.

    nfc:usb  nfc:usb:072f:2200  nfc:tty:S0:pn532  nfc:udp:127.0.0.1:54321
    serial:/dev/ttyUSB0?protocol=rdm6300  serial:loop://?protocol=line&pattern=[0-9]{10}
    evdev:/dev/input/by-id/usb-reader-event-kbd
    sim:                                   (registered by sim/schemes.py)

Serial options (consumed here; any other query goes on to pyserial): `protocol`
(rdm6300 | line), `baud`, `removal_ms`, and for line readers `prefix`, `suffix`, `pattern`.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl, urlencode

from drivers.base import Debouncer, EventSink, Reader, ReaderEvent


class ReaderUrlError(ValueError):
    """A reader URL that cannot be used; the message says why."""


@dataclass(frozen=True)
class ReaderUrl:
    """A reader URL split at its scheme, with where the kiosk keeps its files."""

    url: str
    scheme: str
    rest: str
    data_dir: Path | None = None


ReaderFactory = Callable[[ReaderUrl], Reader]
# Scheme -> factory, as pyserial's URL handlers and gpiozero's pin factories: each part
# registers its own (the built-in drivers below, `sim` in sim/schemes.py), so this module
# never imports a simulator and a new reader kind touches no if-chain.
_SCHEMES: dict[str, ReaderFactory] = {}


def register_scheme(scheme: str, factory: ReaderFactory) -> None:
    """Make `scheme:...` reader URLs build with `factory` (a later registration replaces)."""
    _SCHEMES[scheme] = factory


def reader_schemes() -> tuple[str, ...]:
    """The registered reader schemes, in registration order."""
    return tuple(_SCHEMES)


def build_reader(url: str, *, data_dir: Path | None = None) -> Reader:
    """One reader from its URL (see the module docstring)."""
    scheme, sep, rest = url.partition(":")
    known = ", ".join(f"{name}:" for name in _SCHEMES)
    if not sep:
        raise ReaderUrlError(f"{url!r}: a reader URL starts with {known}")
    factory = _SCHEMES.get(scheme)
    if factory is None:
        names = ", ".join(_SCHEMES)
        raise ReaderUrlError(f"{url!r}: unknown reader kind {scheme!r} ({names})")
    return factory(ReaderUrl(url, scheme, rest, data_dir))


def _nfc(where: ReaderUrl) -> Reader:
    from drivers.nfc import NfcReader

    if not where.rest:
        raise ReaderUrlError(f"{where.url!r}: say which device, e.g. nfc:usb")
    return NfcReader(where.url, where.rest)


def _evdev(where: ReaderUrl) -> Reader:
    from drivers.keyboard import KeyboardWedgeReader

    url = where.url
    path, _, query = where.rest.partition("?")
    options = dict(parse_qsl(query))
    if not path:
        raise ReaderUrlError(f"{url!r}: say which input device, e.g. evdev:/dev/input/event3")
    if "pattern" in options:
        return KeyboardWedgeReader(url, path, pattern=_pattern(url, options["pattern"]))
    return KeyboardWedgeReader(url, path)


def _serial(where: ReaderUrl) -> Reader:
    from drivers.serial_reader import PROTOCOLS, SerialReader

    url, rest = where.url, where.rest

    port, _, query = rest.partition("?")
    if not port:
        raise ReaderUrlError(f"{url!r}: say which port, e.g. serial:/dev/ttyUSB0")
    options = dict(parse_qsl(query, keep_blank_values=True))
    protocol = options.pop("protocol", "rdm6300")
    if protocol not in PROTOCOLS:
        raise ReaderUrlError(f"{url!r}: protocol must be rdm6300 or line, not {protocol!r}")
    try:
        baud = int(options.pop("baud", "9600"))
        removal = int(options.pop("removal_ms", "300")) / 1000
    except ValueError as exc:
        raise ReaderUrlError(f"{url!r}: baud and removal_ms are whole numbers") from exc
    prefix = options.pop("prefix", "")
    suffix = options.pop("suffix", "")
    pattern = _pattern(url, options.pop("pattern", r"[0-9A-Fa-f]{4,32}"))
    if options:
        port = f"{port}?{urlencode(options)}"
    return SerialReader(
        url,
        port,
        protocol=protocol,
        baudrate=baud,
        removal_timeout=removal,
        prefix=prefix,
        suffix=suffix,
        pattern=pattern,
    )


register_scheme("nfc", _nfc)
register_scheme("serial", _serial)
register_scheme("evdev", _evdev)


def _pattern(url: str, pattern: str) -> str:
    """A card-id pattern from a URL, checked: a typo is a clear error, not re.error."""
    try:
        re.compile(pattern)
    except re.error as exc:
        raise ReaderUrlError(
            f"{url!r}: pattern {pattern!r} is not a regular expression: {exc}"
        ) from exc
    return pattern


class ReaderSet:
    """All the configured readers, started and stopped together, events debounced."""

    def __init__(
        self,
        readers: Sequence[Reader],
        *,
        debounce_seconds: float = 1.5,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.readers = list(readers)
        self.debounce_seconds = debounce_seconds
        self.clock = clock
        self._lock = threading.Lock()

    @classmethod
    def from_urls(
        cls, urls: Sequence[str], *, data_dir: Path | None = None, debounce_seconds: float = 1.5
    ) -> ReaderSet:
        return cls(
            [build_reader(url, data_dir=data_dir) for url in urls],
            debounce_seconds=debounce_seconds,
        )

    def start(self, on_event: EventSink) -> None:
        sink = Debouncer(self._serialised(on_event), self.debounce_seconds, clock=self.clock)
        for reader in self.readers:
            reader.start(sink)

    def stop(self, timeout: float = 5.0) -> None:
        for reader in self.readers:
            reader.stop(timeout)

    def _serialised(self, on_event: EventSink) -> EventSink:
        # Readers run on their own threads; the consumer sees one event at a time.
        def sink(event: ReaderEvent) -> None:
            with self._lock:
                on_event(event)

        return sink
