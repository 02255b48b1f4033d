"""USB keyboard-emulation ("wedge") readers: the cheapest RFID and barcode readers, which
"type" the card number and press Enter, read through Linux evdev.

The reader's input device is grabbed (EVIOCGRAB) so its keystrokes never reach the touch
app, and decoded here by `KeyDecoder`. A wedge has no presence: each code is a
presentation followed at once by a removal. `evdev` is imported only when a session
starts, so this module loads everywhere.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import re
import select
from typing import TYPE_CHECKING, Final, Protocol

from drivers.base import Backoff, ReaderFault, ReaderState, ThreadedReader

if TYPE_CHECKING:
    from evdev import InputDevice

log = logging.getLogger(__name__)

MAX_CODE = 64  # keystrokes without Enter past this are garbage, dropped until the next Enter
POLL_INTERVAL = 0.1  # seconds select() waits before `stopping` is looked at again

# Event types, codes and values from linux/input-event-codes.h (a stable kernel ABI; the
# tests check them against evdev.ecodes), so decoding needs no evdev import.
EV_SYN: Final = 0x00
EV_KEY: Final = 0x01
SYN_DROPPED: Final = 3
KEY_UP: Final = 0
KEY_DOWN: Final = 1
KEY_HOLD: Final = 2  # auto-repeat

KEY_ENTER: Final = 28
KEY_KPENTER: Final = 96
KEY_LEFTSHIFT: Final = 42
KEY_RIGHTSHIFT: Final = 54
SHIFTS: Final = frozenset({KEY_LEFTSHIFT, KEY_RIGHTSHIFT})
ENTERS: Final = frozenset({KEY_ENTER, KEY_KPENTER})

# key code -> (character, character with shift), US layout as wedges assume.
KEYMAP: Final[dict[int, tuple[str, str]]] = {
    2: ("1", "!"),  # KEY_1
    3: ("2", "@"),
    4: ("3", "#"),
    5: ("4", "$"),
    6: ("5", "%"),
    7: ("6", "^"),
    8: ("7", "&"),
    9: ("8", "*"),
    10: ("9", "("),
    11: ("0", ")"),  # KEY_0
    12: ("-", "_"),  # KEY_MINUS
    13: ("=", "+"),  # KEY_EQUAL
    16: ("q", "Q"),
    17: ("w", "W"),
    18: ("e", "E"),
    19: ("r", "R"),
    20: ("t", "T"),
    21: ("y", "Y"),
    22: ("u", "U"),
    23: ("i", "I"),
    24: ("o", "O"),
    25: ("p", "P"),
    26: ("[", "{"),  # KEY_LEFTBRACE
    27: ("]", "}"),  # KEY_RIGHTBRACE
    30: ("a", "A"),
    31: ("s", "S"),
    32: ("d", "D"),
    33: ("f", "F"),
    34: ("g", "G"),
    35: ("h", "H"),
    36: ("j", "J"),
    37: ("k", "K"),
    38: ("l", "L"),
    39: (";", ":"),  # KEY_SEMICOLON
    40: ("'", '"'),  # KEY_APOSTROPHE
    41: ("`", "~"),  # KEY_GRAVE
    43: ("\\", "|"),  # KEY_BACKSLASH
    44: ("z", "Z"),
    45: ("x", "X"),
    46: ("c", "C"),
    47: ("v", "V"),
    48: ("b", "B"),
    49: ("n", "N"),
    50: ("m", "M"),
    51: (",", "<"),  # KEY_COMMA
    52: (".", ">"),  # KEY_DOT
    53: ("/", "?"),  # KEY_SLASH
    55: ("*", "*"),  # KEY_KPASTERISK
    57: (" ", " "),  # KEY_SPACE
    71: ("7", "7"),  # KEY_KP7: keypad digits are digits whatever the shift
    72: ("8", "8"),
    73: ("9", "9"),
    74: ("-", "-"),  # KEY_KPMINUS
    75: ("4", "4"),
    76: ("5", "5"),
    77: ("6", "6"),
    78: ("+", "+"),  # KEY_KPPLUS
    79: ("1", "1"),
    80: ("2", "2"),
    81: ("3", "3"),
    82: ("0", "0"),  # KEY_KP0
    83: (".", "."),  # KEY_KPDOT
    98: ("/", "/"),  # KEY_KPSLASH
}


class KeyEventLike(Protocol):
    """What the decoder reads of an `evdev.InputEvent`."""

    @property
    def type(self) -> int: ...
    @property
    def code(self) -> int: ...
    @property
    def value(self) -> int: ...


class KeyDecoder:
    """Turns key events into the codes a wedge types, one per Enter.

    Key-down events of mapped keys add a character (shift, left or right, for the upper
    row); key-up only releases shift; auto-repeat (hold) and unmapped keys (Backspace, Tab,
    Caps Lock, function keys, ...) are ignored. Enter or keypad Enter ends a code. More
    than `limit` characters without Enter, or events the kernel dropped (SYN_DROPPED),
    spoil the code being typed: it is dropped at the next Enter.
    """

    def __init__(self, limit: int = MAX_CODE) -> None:
        self.limit = limit
        self._chars: list[str] = []
        self._shifts: set[int] = set()
        self._spoiled = False

    def feed(self, event: KeyEventLike) -> str | None:
        """The code this event completes, if it completes one."""
        if event.type == EV_SYN and event.code == SYN_DROPPED:
            self._spoil()
            self._shifts.clear()  # whatever shift was doing is unknown now
            return None
        if event.type != EV_KEY:
            return None
        if event.code in SHIFTS:
            if event.value == KEY_UP:
                self._shifts.discard(event.code)
            elif event.value == KEY_DOWN:
                self._shifts.add(event.code)
            return None
        if event.value != KEY_DOWN:
            return None
        if event.code in ENTERS:
            code, spoiled = "".join(self._chars), self._spoiled
            self.reset()
            return code if code and not spoiled else None
        keys = KEYMAP.get(event.code)
        if keys is None or self._spoiled:
            return None
        self._chars.append(keys[1] if self._shifts else keys[0])
        if len(self._chars) > self.limit:
            self._spoil()
        return None

    def reset(self) -> None:
        """Forget the code being typed (shift state is kept: it is the keyboard's)."""
        self._chars.clear()
        self._spoiled = False

    def _spoil(self) -> None:
        self._chars.clear()
        self._spoiled = True


class KeyboardWedgeReader(ThreadedReader):
    """A keyboard-emulation reader at an evdev device path (best a stable
    `/dev/input/by-id/usb-...-event-kbd`); codes that fullmatch `pattern` are cards."""

    technology = "keyboard"

    def __init__(
        self,
        name: str,
        device: str,
        *,
        pattern: str = r"[0-9A-Fa-f]{4,32}",
        backoff: Backoff | None = None,
    ) -> None:
        super().__init__(name, backoff=backoff)
        self.device = device
        self.pattern = re.compile(pattern)

    def session(self) -> None:
        import evdev

        try:
            device: InputDevice[str] = evdev.InputDevice(self.device)
        except OSError as exc:
            raise open_fault(self.device, exc) from exc
        grabbed = False
        try:
            try:
                device.grab()
            except OSError as exc:
                raise grab_fault(self.device, exc) from exc
            grabbed = True
            self.connected(f"reading keystrokes from {device.name!r} at {self.device}")
            self._read(device)
        finally:
            if grabbed:
                with contextlib.suppress(OSError):  # gone: the kernel dropped the grab too
                    device.ungrab()
            device.close()

    def _read(self, device: InputDevice[str]) -> None:
        decoder = KeyDecoder()
        while not self.stopping.is_set():
            ready, _, _ = select.select([device.fd], [], [], POLL_INTERVAL)
            if not ready:
                continue
            try:
                events = list(device.read())
            except BlockingIOError:
                continue
            except OSError as exc:
                if self.stopping.is_set():
                    return
                raise ReaderFault(
                    f"the reader at {self.device} went away ({exc.strerror or exc})",
                    "check the USB cable; the kiosk reconnects by itself",
                    state=ReaderState.DISCONNECTED,
                ) from exc
            for event in events:
                code = decoder.feed(event)
                if code is None:
                    continue
                if self.pattern.fullmatch(code):
                    self.card_present(code.upper(), "keyboard")
                    self.card_removed()
                else:  # never log the code itself: card numbers are personal-ish
                    log.debug(
                        "reader %s: ignored a %d-character code that is no card",
                        self.name,
                        len(code),
                    )


def open_fault(path: str, exc: OSError) -> ReaderFault:
    """A plain message and hint for an input device that would not open."""
    if exc.errno in (errno.ENOENT, errno.ENODEV, errno.ENXIO):
        return ReaderFault(
            f"no input device at {path}; is the reader plugged in?",
            "`ls -l /dev/input/by-id/` lists the keyboards; use the reader's ...-event-kbd",
            state=ReaderState.DISCONNECTED,
        )
    if exc.errno in (errno.EACCES, errno.EPERM):
        return ReaderFault(
            f"no permission to read {path}",
            "add the kiosk's service user to the input group (usermod -aG input USER)",
        )
    if exc.errno in (errno.ENOTTY, errno.EINVAL):
        return ReaderFault(
            f"{path} is not an input device",
            "use the reader's /dev/input/by-id/...-event-kbd (or /dev/input/eventN) path",
        )
    return ReaderFault(
        f"cannot open {path}: {exc.strerror or exc}", "check the reader device in the config"
    )


def grab_fault(path: str, exc: OSError) -> ReaderFault:
    """The reader is open but someone else has it to themselves (or it just went away)."""
    if exc.errno in (errno.ENODEV, errno.ENOENT, errno.ENXIO):
        return open_fault(path, exc)
    return ReaderFault(
        f"another program grabbed the reader at {path} ({exc.strerror or exc})",
        "stop it (another kiosk, evtest --grab, a barcode daemon); "
        f"`fuser -v {path}` shows who has it open",
    )
