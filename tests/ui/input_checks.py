"""Checks of how a screen is used, for any screen: by a USB keyboard as well as by touch, and
with no widget drawn over another.

Each check returns what it found wrong, as readable lines; an empty list means the screen
passes. test_keyboard_and_layout.py runs them on every screen of the tour.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

# Kivy's key codes (kivy.core.window Keyboard.keycodes).
KEYS = {"enter": 13, "numpadenter": 271, "backspace": 8, "escape": 27}
# Buttons that leave a screen without doing anything (Escape), by id, the first shown first.
ESCAPE_IDS = ("back", "cancel", "done")
# Buttons that do what a screen is for (Enter), by id, the first shown first.
ENTER_IDS = ("confirm", "join", "go", "approve", "purchase", "done", "phone")


def press_key(window: Any, name: str) -> None:
    """A physical key pressed and released, as SDL delivers it to Kivy's window."""
    code = KEYS[name]
    window.dispatch("on_key_down", code, 0, None, [])
    window.dispatch("on_key_up", code, 0)


def buttons(widget: Any) -> Iterator[Any]:
    """Every button under `widget` a finger could press now (shown and enabled)."""
    from kivy.uix.behaviors import ButtonBehavior

    for child in widget.walk(restrict=True):
        if (
            isinstance(child, ButtonBehavior)
            and not child.disabled
            and child.opacity > 0
            and child.get_root_window() is not None
        ):
            yield child


def pressed_by(window: Any, screen: Any, key: str) -> list[Any]:
    """The buttons on `screen` that the physical `key` pressed (their on_press fired)."""
    found: list[Any] = []
    shown = list(buttons(screen))

    def record(button: Any) -> None:
        found.append(button)

    for button in shown:
        button.bind(on_press=record)
    try:
        press_key(window, key)
    finally:
        for button in shown:
            button.unbind(on_press=record)
    return found


def expected_button(screen: Any, key: str) -> Any:
    """The button a finger would press for `key` on `screen`, or None if it has none.

    Enter (and the keypad's Enter): the keypad's OK key, else the first of ENTER_IDS
    shown; Backspace: the back key of its keypad or letter keyboard; Escape: the first of
    ESCAPE_IDS shown.
    """
    if key in ("enter", "numpadenter"):
        return pad_key(screen, "ok") or _first_shown(screen, ENTER_IDS)
    if key == "backspace":
        return pad_key(screen, "back")
    return _first_shown(screen, ESCAPE_IDS)


def pad_key(screen: Any, key: str) -> Any:
    """The pressable key `key` of a keypad or letter keyboard on `screen`, if any."""
    from kiosk.ui.widgets import Keypad

    for button in buttons(screen):
        if isinstance(button.parent, Keypad) and button.key == key:
            return button
    return None


def _first_shown(screen: Any, names: tuple[str, ...]) -> Any:
    shown = list(buttons(screen))
    for name in names:
        widget = screen.ids.get(name)
        if widget is not None and widget in shown:
            return widget
    return None


def _typable(screen: Any) -> str:
    """A character that a key of the screen's keypad or keyboard types ("" if none)."""
    from kiosk.ui.widgets import Keypad

    for button in buttons(screen):
        if isinstance(button.parent, Keypad) and len(button.key) == 1 and button.key.isalnum():
            return str(button.key)
    return ""


def keyboard_gaps(window: Any, arrive: Callable[[], Any]) -> list[str]:
    """What a USB keyboard cannot do on the screen that `arrive` shows (and shows again
    before each key is tried): each of Enter, the keypad's Enter, Backspace and Escape must
    press the button a finger would (`expected_button`), and a character of its keypad or
    keyboard typed on the keyboard must change what the screen shows.
    """
    problems = []
    for key in KEYS:
        screen = arrive()
        button = expected_button(screen, key)
        if button is not None and button not in pressed_by(window, screen, key):
            what = getattr(button, "key", "") or _id_of(screen, button)
            problems.append(f"{screen.name}: {key} does not press {what!r}")
    screen = arrive()
    char = _typable(screen)
    if char:
        back = pad_key(screen, "back")
        if back is not None:  # room for one more character (a full field takes none)
            back.trigger_action(duration=0)
        before = _texts(screen)
        window.dispatch("on_textinput", char)
        if _texts(screen) == before:
            problems.append(f"{screen.name}: typing {char!r} shows nothing")
    arrive()
    return problems


def _texts(screen: Any) -> list[str]:
    from kivy.uix.label import Label

    return [w.text for w in screen.walk(restrict=True) if isinstance(w, Label)]


def _id_of(screen: Any, widget: Any) -> str:
    return next((name for name, w in screen.ids.items() if w is widget), repr(widget))


# -- layout ---------------------------------------------------------------------------------


def overlaps(widget: Any) -> list[str]:
    """Pairs of shown leaf widgets (labels, buttons, bars) under `widget` whose rectangles
    cross by more than a pixel: one drawn over the other.

    A widget and the layout holding it share their area by design, so only leaves (widgets
    without children) are compared, in window coordinates.
    """
    leaves = []
    for child in widget.walk(restrict=True):
        if (
            child is not widget
            and not child.children
            and child.opacity > 0
            and child.get_root_window() is not None
            and child.width > 0
            and child.height > 0
            and _drawn(child)
        ):
            x, y = child.to_window(child.x, child.y)
            leaves.append((child, x, y, x + child.width, y + child.height))
    found = []
    for i, (a, ax, ay, ar, at) in enumerate(leaves):
        for b, bx, by, br, bt in leaves[i + 1 :]:
            if min(ar, br) - max(ax, bx) > 1 and min(at, bt) - max(ay, by) > 1:
                found.append(f"{_describe(a)} over {_describe(b)}")
    return found


def _drawn(widget: Any) -> bool:
    # A bare Widget is a layout's filler: it draws nothing.
    from kivy.uix.widget import Widget

    return type(widget) is not Widget


def _describe(widget: Any) -> str:
    text = getattr(widget, "text", "")
    return f"{type(widget).__name__}({text!r})" if text else type(widget).__name__
