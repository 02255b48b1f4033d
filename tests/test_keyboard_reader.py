"""Keyboard-wedge readers: the key decoder on real evdev events, the driver on a real
evdev `InputDevice` reading kernel-format events from a pipe, and on a virtual keyboard
through /dev/uinput where the kernel has it."""

from __future__ import annotations

import errno
import logging
import os
import queue
import struct
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

pytest.importorskip("evdev", reason="evdev is not installed (it is Linux only)")

import evdev
from evdev import InputEvent, UInput, ecodes

from drivers.base import (
    Backoff,
    CardPresented,
    CardRemoved,
    ReaderEvent,
    ReaderState,
    ReaderStatusChanged,
)
from drivers.keyboard import (
    EV_KEY,
    EV_SYN,
    KEY_DOWN,
    KEY_ENTER,
    KEY_HOLD,
    KEY_KPENTER,
    KEY_LEFTSHIFT,
    KEY_RIGHTSHIFT,
    KEY_UP,
    KEYMAP,
    MAX_CODE,
    SYN_DROPPED,
    KeyboardWedgeReader,
    KeyDecoder,
    open_fault,
)

FAST = Backoff(first=0.01, most=0.05)
WAIT = 10.0  # seconds to wait for a reader's event

E = TypeVar("E", CardPresented, CardRemoved, ReaderStatusChanged)

# -- building key events -----------------------------------------------------------------


def ev(type_: int, code: int, value: int) -> InputEvent:
    return InputEvent(1_700_000_000, 0, type_, code, value)


def key(name: str, value: int = 1) -> InputEvent:
    return ev(ecodes.EV_KEY, ecodes.ecodes[name], value)


def tap(name: str) -> list[InputEvent]:
    return [key(name, 1), key(name, 0)]


NAMED = {"\n": "KEY_ENTER", ";": "KEY_SEMICOLON", "-": "KEY_MINUS", " ": "KEY_SPACE"}


def key_name(char: str) -> str:
    return NAMED.get(char, f"KEY_{char.upper()}")


def typed(text: str) -> list[InputEvent]:
    """What a US-layout wedge sends for `text` ("\\n" is Enter): shift around capitals."""
    events: list[InputEvent] = []
    for char in text:
        if char.isupper():
            events += [key("KEY_LEFTSHIFT", 1), *tap(key_name(char)), key("KEY_LEFTSHIFT", 0)]
        else:
            events += tap(key_name(char))
    return events


def shifted(*names: str, shift: str = "KEY_LEFTSHIFT") -> list[InputEvent]:
    return [key(shift, 1), *[e for name in names for e in tap(name)], key(shift, 0)]


def decode(events: list[InputEvent], decoder: KeyDecoder | None = None) -> list[str]:
    decoder = decoder or KeyDecoder()
    return [code for code in map(decoder.feed, events) if code is not None]


# -- the decoder -------------------------------------------------------------------------

KEYPAD = [f"KEY_KP{digit}" for digit in "0123456789"]
LONGEST = "1" * MAX_CODE

DECODER_CASES: list[tuple[str, list[InputEvent], list[str]]] = [
    ("digits", typed("0123456789\n"), ["0123456789"]),
    ("hex letters", typed("deadbeef\n"), ["deadbeef"]),
    ("all letters", typed("abcdefghijklmnopqrstuvwxyz\n"), ["abcdefghijklmnopqrstuvwxyz"]),
    ("shift makes capitals", typed("1A2b3C\n"), ["1A2b3C"]),
    ("left shift held", [*shifted("KEY_A", "KEY_B"), *typed("c\n")], ["ABc"]),
    ("right shift held", [*shifted("KEY_F", shift="KEY_RIGHTSHIFT"), *typed("\n")], ["F"]),
    ("shifted digits are symbols", [*shifted("KEY_1", "KEY_0"), *typed("\n")], ["!)"]),
    ("punctuation", [*tap("KEY_MINUS"), *tap("KEY_DOT"), *typed("\n")], ["-."]),
    ("keypad digits", [*[e for k in KEYPAD for e in tap(k)], *tap("KEY_KPENTER")], ["0123456789"]),
    ("keypad digits ignore shift", [*shifted("KEY_KP1"), *tap("KEY_KPENTER")], ["1"]),
    ("key up types nothing", [key("KEY_1", 0), key("KEY_2", 0), *typed("3\n")], ["3"]),
    (
        "auto-repeat is ignored",
        [key("KEY_7", 1), key("KEY_7", 2), key("KEY_7", 2), key("KEY_7", 0), *typed("\n")],
        ["7"],
    ),
    ("backspace is ignored", [*typed("12"), *tap("KEY_BACKSPACE"), *typed("3\n")], ["123"]),
    (
        "other keys are ignored",
        [*tap("KEY_TAB"), *tap("KEY_F1"), *tap("KEY_CAPSLOCK"), *tap("KEY_ESC"), *typed("9\n")],
        ["9"],
    ),
    (
        "non-key events are ignored",
        [
            ev(ecodes.EV_MSC, ecodes.MSC_SCAN, 0x7001E),
            *typed("4"),
            ev(ecodes.EV_SYN, ecodes.SYN_REPORT, 0),
            ev(ecodes.EV_LED, ecodes.LED_NUML, 1),
            *typed("2\n"),
        ],
        ["42"],
    ),
    ("enter alone is no code", typed("\n\n"), []),
    ("no enter, no code", typed("1234abcd"), []),
    ("two codes", typed("1234\nabcd\n"), ["1234", "abcd"]),
    ("garbage is passed on (the pattern judges it)", typed("x;z\n"), ["x;z"]),
    ("the longest code", typed(LONGEST + "\n"), [LONGEST]),
    ("an overlong buffer is dropped", typed(LONGEST + "1\n"), []),
    (
        "typing after an overlong buffer is dropped up to the next enter",
        typed(LONGEST * 3 + "1234\n5678\n"),
        ["5678"],
    ),
    (
        "events the kernel dropped spoil the code",
        [*typed("12"), ev(ecodes.EV_SYN, ecodes.SYN_DROPPED, 0), *typed("34\n56\n")],
        ["56"],
    ),
    (
        "dropped events release shift",
        [key("KEY_LEFTSHIFT", 1), ev(ecodes.EV_SYN, ecodes.SYN_DROPPED, 0), *typed("\na\n")],
        ["a"],
    ),
]


@pytest.mark.parametrize(
    ("events", "codes"),
    [pytest.param(events, codes, id=name) for name, events, codes in DECODER_CASES],
)
def test_the_decoder_turns_key_events_into_codes(events: list[InputEvent], codes: list[str]):
    assert decode(events) == codes


@pytest.mark.parametrize(
    ("name", "plain", "with_shift"),
    [
        *[(f"KEY_{d}", d, s) for d, s in zip("1234567890", "!@#$%^&*()", strict=True)],
        *[(f"KEY_{c.upper()}", c, c.upper()) for c in "abcdefghijklmnopqrstuvwxyz"],
        ("KEY_MINUS", "-", "_"),
        ("KEY_EQUAL", "=", "+"),
        ("KEY_LEFTBRACE", "[", "{"),
        ("KEY_RIGHTBRACE", "]", "}"),
        ("KEY_SEMICOLON", ";", ":"),
        ("KEY_APOSTROPHE", "'", '"'),
        ("KEY_GRAVE", "`", "~"),
        ("KEY_BACKSLASH", "\\", "|"),
        ("KEY_COMMA", ",", "<"),
        ("KEY_DOT", ".", ">"),
        ("KEY_SLASH", "/", "?"),
        ("KEY_SPACE", " ", " "),
        *[(f"KEY_KP{d}", d, d) for d in "0123456789"],
        ("KEY_KPASTERISK", "*", "*"),
        ("KEY_KPMINUS", "-", "-"),
        ("KEY_KPPLUS", "+", "+"),
        ("KEY_KPDOT", ".", "."),
        ("KEY_KPSLASH", "/", "/"),
    ],
)
def test_each_mapped_key_is_the_kernels_key_of_that_name(name: str, plain: str, with_shift: str):
    assert KEYMAP[ecodes.ecodes[name]] == (plain, with_shift)
    assert decode([*tap(name), *typed("\n")]) == [plain]
    assert decode([*shifted(name), *typed("\n")]) == [with_shift]


def test_the_keymap_has_no_key_the_tests_do_not_name():
    assert len(KEYMAP) == 10 + 26 + 12 + 10 + 5


def test_the_decoders_constants_are_the_kernels():
    assert (EV_SYN, EV_KEY, SYN_DROPPED) == (ecodes.EV_SYN, ecodes.EV_KEY, ecodes.SYN_DROPPED)
    assert (KEY_UP, KEY_DOWN, KEY_HOLD) == (0, 1, 2)
    assert (KEY_ENTER, KEY_KPENTER) == (ecodes.KEY_ENTER, ecodes.KEY_KPENTER)
    assert (KEY_LEFTSHIFT, KEY_RIGHTSHIFT) == (ecodes.KEY_LEFTSHIFT, ecodes.KEY_RIGHTSHIFT)


def test_the_decoder_starts_afresh_after_each_code():
    decoder = KeyDecoder()
    assert decode(typed(LONGEST + "99\n"), decoder) == []
    assert decode(typed("ABCD\n"), decoder) == ["ABCD"]
    assert decode(typed("12"), decoder) == []
    decoder.reset()
    assert decode(typed("34\n"), decoder) == ["34"]


# -- open failures -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("number", "state", "message", "hint"),
    [
        (
            errno.ENOENT,
            "disconnected",
            "no input device at /dev/x; is the reader plugged in?",
            "by-id",
        ),
        (errno.ENODEV, "disconnected", "no input device at /dev/x", "by-id"),
        (errno.EACCES, "error", "no permission", "input group"),
        (errno.EPERM, "error", "no permission", "input group"),
        (errno.ENOTTY, "error", "not an input device", "event-kbd"),
        (errno.EIO, "error", "cannot open /dev/x", "config"),
    ],
)
def test_open_failures_say_what_to_do(number: int, state: str, message: str, hint: str):
    fault = open_fault("/dev/x", OSError(number, os.strerror(number)))
    assert fault.state == state
    assert message in fault.message
    assert hint in fault.hint


# -- the driver on a pipe: a real evdev InputDevice, without the ioctls -------------------


class Events:
    """A reader's events, through a queue: wait for one without sleeping."""

    def __init__(self) -> None:
        self.queue: queue.Queue[ReaderEvent] = queue.Queue()
        self.seen: list[ReaderEvent] = []

    def __call__(self, event: ReaderEvent) -> None:
        self.queue.put(event)

    def wait(self, kind: type[E], check: Callable[[E], bool] = lambda e: True) -> E:
        deadline = time.monotonic() + WAIT
        while (left := deadline - time.monotonic()) > 0:
            try:
                event = self.queue.get(timeout=left)
            except queue.Empty:
                break
            self.seen.append(event)
            if isinstance(event, kind) and check(event):
                return event
        raise AssertionError(f"no {kind.__name__} within {WAIT} s; saw {self.seen}")

    def status(self, state: ReaderState) -> ReaderStatusChanged:
        return self.wait(ReaderStatusChanged, lambda e: e.state == state)

    def cards(self) -> list[ReaderEvent]:
        while True:
            try:
                self.seen.append(self.queue.get_nowait())
            except queue.Empty:
                break
        return [e for e in self.seen if isinstance(e, CardPresented | CardRemoved)]


class PipeKeyboard(evdev.InputDevice):  # type: ignore[type-arg]
    """An `evdev.InputDevice` whose fd is a pipe: `read()` is evdev's own, parsing kernel
    `struct input_event`s that `type()` writes; grab and unplug are played, not ioctls."""

    grab_error: OSError | None = None  # what grab() raises, if anything

    def __init__(self, path: str) -> None:  # not super's: it ioctls the fd
        read_end, self.write_end = os.pipe()
        os.set_blocking(read_end, False)
        self.path = path
        self.fd = read_end
        self.name = "pipe keyboard"
        self.grabbed = threading.Event()
        self.closed = threading.Event()
        self.gone = False

    def grab(self) -> None:
        if self.grab_error is not None:
            raise self.grab_error
        self.grabbed.set()

    def ungrab(self) -> None:
        self.grabbed.clear()

    def read(self) -> Iterator[InputEvent]:
        if self.gone:
            raise OSError(errno.ENODEV, os.strerror(errno.ENODEV))
        return super().read()

    def send(self, events: list[InputEvent]) -> None:
        for event in events:
            os.write(
                self.write_end, struct.pack("llHHi", 0, 0, event.type, event.code, event.value)
            )

    def unplug(self) -> None:
        self.gone = True
        os.write(self.write_end, b"\0")  # wakes select(); the read then fails like the kernel's

    def close(self) -> None:
        if self.fd > -1:
            super().close()
            os.close(self.write_end)
        self.closed.set()


@pytest.fixture
def pipe_keyboards(monkeypatch: pytest.MonkeyPatch) -> Iterator[queue.Queue[PipeKeyboard]]:
    """Each open of an evdev device gives a new pipe keyboard, also put on the queue."""
    opened: queue.Queue[PipeKeyboard] = queue.Queue()
    made: list[PipeKeyboard] = []

    def open_device(path: str) -> PipeKeyboard:
        device = PipeKeyboard(path)
        made.append(device)
        opened.put(device)
        return device

    monkeypatch.setattr(evdev, "InputDevice", open_device)
    yield opened
    for device in made:
        device.close()


@pytest.fixture
def started() -> Iterator[Callable[..., tuple[KeyboardWedgeReader, Events]]]:
    readers: list[KeyboardWedgeReader] = []

    def start(device: str = "/dev/input/by-id/usb-pipe-event-kbd", **kw: Any):
        reader = KeyboardWedgeReader("wedge", device, backoff=FAST, **kw)
        events = Events()
        readers.append(reader)
        reader.start(events)
        return reader, events

    yield start
    for reader in readers:
        reader.stop()


def test_a_typed_card_is_a_presentation_and_a_removal(pipe_keyboards, started):
    reader, events = started()
    device = pipe_keyboards.get(timeout=WAIT)
    connected = events.status(ReaderState.CONNECTED)
    assert "pipe keyboard" in connected.message
    assert device.grabbed.is_set()

    device.send(typed("1a2b3c4d\n"))
    assert events.wait(CardPresented) == CardPresented("1A2B3C4D", "keyboard", "wedge")
    assert events.wait(CardRemoved) == CardRemoved("1A2B3C4D", "wedge")
    device.send(typed("1A2B3C4D\n"))  # the same card again is a new tap
    assert events.wait(CardPresented).uid == "1A2B3C4D"
    assert events.wait(CardRemoved).uid == "1A2B3C4D"

    reader.stop()
    assert device.closed.is_set()
    assert not device.grabbed.is_set()


def test_codes_that_are_no_card_are_ignored_and_not_logged(pipe_keyboards, started, caplog):
    caplog.set_level(logging.DEBUG, logger="drivers.keyboard")
    _, events = started(pattern=r"\d{8}")
    device = pipe_keyboards.get(timeout=WAIT)
    events.status(ReaderState.CONNECTED)

    device.send(typed("hello-735\n" + "9" * 70 + "\n" + "1234567\n" + "12345678\n"))
    assert events.wait(CardPresented).uid == "12345678"
    events.wait(CardRemoved)
    assert [type(e).__name__ for e in events.cards()] == ["CardPresented", "CardRemoved"]
    assert "no card" in caplog.text
    for secret in ("hello", "735", "1234567", "9999"):
        assert secret not in caplog.text


def test_an_unplugged_reader_is_disconnected_and_reopened(pipe_keyboards, started):
    _, events = started()
    first = pipe_keyboards.get(timeout=WAIT)
    events.status(ReaderState.CONNECTED)

    first.unplug()
    gone = events.status(ReaderState.DISCONNECTED)
    assert "went away" in gone.message and "No such device" in gone.message
    assert "reconnects" in gone.hint
    assert first.closed.is_set() and not first.grabbed.is_set()

    second = pipe_keyboards.get(timeout=WAIT)
    events.status(ReaderState.CONNECTED)
    second.send(typed("cafe\n"))
    assert events.wait(CardPresented).uid == "CAFE"


def test_a_reader_another_program_grabbed_is_an_error_with_a_hint(
    pipe_keyboards, started, monkeypatch
):
    busy = OSError(errno.EBUSY, os.strerror(errno.EBUSY))
    monkeypatch.setattr(PipeKeyboard, "grab_error", busy)
    path = "/dev/input/event7"
    _, events = started(path)
    device = pipe_keyboards.get(timeout=WAIT)
    status = events.status(ReaderState.ERROR)
    assert "another program grabbed the reader" in status.message
    assert f"fuser -v {path}" in status.hint
    assert device.closed.wait(WAIT)


# -- stopping while the reader is not there ----------------------------------------------


class CountingReader(KeyboardWedgeReader):
    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.tries: queue.Queue[None] = queue.Queue()

    def session(self) -> None:
        self.tries.put(None)
        super().session()


def reader_threads() -> set[threading.Thread]:
    return {t for t in threading.enumerate() if t.name.startswith("reader-")}


def test_stop_leaves_no_reader_thread_while_the_device_is_missing(tmp_path: Path):
    path = str(tmp_path / "event99")
    before = reader_threads()
    reader = CountingReader("kbd-missing", path, backoff=FAST)
    events = Events()
    reader.start(events)
    try:
        status = events.status(ReaderState.DISCONNECTED)
        for _ in range(3):  # it keeps trying
            reader.tries.get(timeout=WAIT)
    finally:
        reader.stop()
    assert status.message == f"no input device at {path}; is the reader plugged in?"
    assert reader.status.state == ReaderState.STOPPED
    assert not {t for t in reader_threads() - before if t.is_alive()}
    assert not any(t.name == "reader-kbd-missing" for t in threading.enumerate())
    reader.stop()  # twice is fine


# -- a virtual keyboard through /dev/uinput -----------------------------------------------

UINPUT = Path("/dev/uinput")
WEDGE_KEYS = [*(ecodes.ecodes[key_name(c)] for c in "0123456789abcdef"), ecodes.KEY_ENTER]


@pytest.fixture
def virtual_keyboard() -> Iterator[UInput]:
    if not UINPUT.exists():
        pytest.skip(
            "/dev/uinput is missing (kernel without CONFIG_INPUT_UINPUT, or a container "
            "without the device): the virtual-keyboard test needs it"
        )
    if not os.access(UINPUT, os.R_OK | os.W_OK):
        pytest.skip("/dev/uinput is not writable here: run as root or give this user access")
    try:
        keyboard = UInput(
            {ecodes.EV_KEY: [*WEDGE_KEYS, ecodes.KEY_LEFTSHIFT]}, name="kiosk-test-wedge"
        )
    except (OSError, evdev.UInputError) as exc:
        pytest.skip(f"/dev/uinput is there but made no usable /dev/input node: {exc!r}")
    try:
        yield keyboard
    finally:
        keyboard.close()


def type_into(keyboard: UInput, text: str) -> None:
    for event in typed(text):
        keyboard.write(event.type, event.code, event.value)
        keyboard.syn()


def test_a_virtual_keyboard_types_a_card_into_the_grabbing_reader(virtual_keyboard, started):
    path = str(virtual_keyboard.device.path)
    reader, events = started(path)
    events.status(ReaderState.CONNECTED)

    other = evdev.InputDevice(path)
    try:
        with pytest.raises(OSError) as grabbed:
            other.grab()  # the reader has it: nobody else gets its keystrokes
        assert grabbed.value.errno == errno.EBUSY

        type_into(virtual_keyboard, "04a3b2c1d0\n")
        assert events.wait(CardPresented) == CardPresented("04A3B2C1D0", "keyboard", "wedge")
        assert events.wait(CardRemoved) == CardRemoved("04A3B2C1D0", "wedge")

        reader.stop()
        other.grab()  # released when the reader stops
        other.ungrab()
    finally:
        other.close()


def test_unplugging_the_virtual_keyboard_disconnects_the_reader(virtual_keyboard, started):
    _, events = started(str(virtual_keyboard.device.path))
    events.status(ReaderState.CONNECTED)
    virtual_keyboard.close()
    status = events.status(ReaderState.DISCONNECTED)
    assert "went away" in status.message or "no input device" in status.message
