"""Every screen, in Persian and English, at 800x480 and 1280x800: translated, fitting, mirrored."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from kiosk.ui.tour import seed, stops
from tests.ui.conftest import Kiosk

SIZES = [(800, 480), (1280, 800)]
SCREEN_NAMES = [name for name, _ in stops("")]


def labels(widget: Any) -> Iterator[Any]:
    """Every visible label (buttons are labels too) under `widget`."""
    from kivy.uix.label import Label

    from kiosk.ui.widgets import ButtonIcon

    for child in widget.walk(restrict=True):
        if isinstance(child, ButtonIcon):  # an icon beside a text: no words to translate
            continue
        if isinstance(child, Label) and child.opacity > 0 and child.get_root_window():
            yield child


@pytest.fixture
def shaped(monkeypatch: pytest.MonkeyPatch) -> set[str]:
    """Every text the app returned from `show()` (which `t()` and errors go through)."""
    from kiosk.ui.app import KioskApp

    returned: set[str] = set()
    show = KioskApp.show

    def recording(app: KioskApp, text: str) -> str:
        result = show(app, text)
        returned.add(result)
        return result

    monkeypatch.setattr(KioskApp, "show", recording)
    return returned


def untranslated(kiosk: Kiosk, shaped: set[str]) -> list[str]:
    """Texts on screen that did not come through the translator or the data shaper."""
    return [
        label.text
        for label in labels(kiosk.app.screen)
        if label.text and any(line not in shaped for line in label.text.split("\n"))
    ]


def clipped(kiosk: Kiosk) -> list[str]:
    """Labels with a line wider than the room the widget gives it (its width less its
    padding: a button's icon), or whose letters are taller.

    Height is checked against the font size (the letters), not the font's line height:
    Vazirmatn's line box leaves room for Arabic marks that a neighbour may overlap.
    """
    from kivy.core.text import Label as CoreLabel

    found = []
    for label in labels(kiosk.app.screen):
        if not label.text:
            continue
        line = CoreLabel(
            text=label.text, font_size=label.font_size, font_name=label.font_name, bold=label.bold
        )
        line.refresh()
        width = line.content_size[0]
        room = label.width - label.padding[0] - label.padding[2]
        if width > room + 1 or label.font_size > label.height + 1:
            found.append(
                f"{label.text!r}: {width:.0f}x{label.font_size:.0f} "
                f"in {room:.0f}x{label.height:.0f}"
            )
    return found


def outside(kiosk: Kiosk) -> list[str]:
    window = kiosk.window
    found = []
    for label in labels(kiosk.app.screen):
        x, y = label.to_window(label.x, label.y)
        if (
            x < -1
            or y < -1
            or x + label.width > window.width + 1
            or y + label.height > window.height + 1
        ):
            found.append(repr(label.text))
    return found


@pytest.fixture
def toured(
    kiosk_factory: Callable[..., Kiosk], shaped: set[str]
) -> Iterator[Callable[[str, str, tuple[int, int]], Kiosk]]:
    made: dict[str, Any] = {}

    def visit(language: str, name: str, size: tuple[int, int]) -> Kiosk:
        if "kiosk" not in made:
            made["kiosk"] = kiosk_factory(staff=False)
            made["member"] = seed(made["kiosk"].app)
        kiosk: Kiosk = made["kiosk"]
        kiosk.window.size = size
        kiosk.pump(2)
        kiosk.app.go_home()
        if language != kiosk.app.lang:
            kiosk.app.toggle_language()
        for stop, arrive in stops(made["member"]):
            if stop == name:
                arrive(kiosk.app)
        kiosk.pump(3)
        assert kiosk.screen == name
        return kiosk

    yield visit


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("language", ["fa", "en"])
def test_every_screen_is_translated_fits_and_stays_inside_the_window(
    toured, shaped, language, size
):
    problems = {}
    for name in SCREEN_NAMES:
        kiosk = toured(language, name, size)
        found = untranslated(kiosk, shaped) + clipped(kiosk) + outside(kiosk)
        if found:
            problems[name] = found
        assert not kiosk.app.bugs
    kiosk.window.size = (800, 480)

    assert problems == {}


def test_the_check_catches_a_literal_that_bypassed_translation(toured, shaped):
    kiosk = toured("fa", "member", (800, 480))

    kiosk.ids("greeting").text = "Welcome"

    assert untranslated(kiosk, shaped) == ["Welcome"]


def test_the_check_catches_a_clipped_label(toured):
    kiosk = toured("en", "attract", (800, 480))

    kiosk.ids("promise").text = kiosk.app.show(
        "A promise far too long to fit on one line of this screen"
    )

    assert clipped(kiosk)


def test_rows_mirror_in_persian_but_keypads_keep_the_phone_layout(toured):
    kiosk = toured("fa", "phone", (800, 480))
    pad = kiosk.ids("keypad")
    back = kiosk.ids("back")
    assert pad.right < back.x  # the keypad is on the left, the text on the right
    assert pad.button("1").x < pad.button("3").x

    kiosk = toured("en", "phone", (800, 480))
    pad = kiosk.ids("keypad")
    assert pad.x > kiosk.ids("back").right
    assert pad.button("1").x < pad.button("3").x


def test_progress_bars_fill_from_the_reading_side(toured):
    kiosk = toured("fa", "member", (800, 480))
    assert kiosk.ids("tier_progress").rtl is True

    kiosk = toured("en", "member", (800, 480))
    assert kiosk.ids("tier_progress").rtl is False


def test_persian_digits_follow_the_config(kiosk_factory):
    kiosk = kiosk_factory("ui.persian_digits=false")
    kiosk.press("phone")
    kiosk.keys("0912")

    assert "0912" in kiosk.text("display")


def test_a_shopper_may_switch_to_english_and_back(kiosk: Kiosk):
    assert kiosk.text("phone") == kiosk.shows("attract.enter_phone")

    kiosk.press("language")
    assert kiosk.app.lang == "en"
    assert kiosk.text("phone") == "Enter phone number"
    kiosk.press("language")

    assert kiosk.app.lang == "fa"
