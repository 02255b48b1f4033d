"""The look's icons, the rewards not yet within reach, and the calm "+N points" (issue 19).

Icons come from the Material Icons font shipped in assets/icons/ with its licence: every
icon drawn is in that font (read from its cmap, as the text's glyphs are), each main button
has its icon beside its text at the reading-start side in both languages, and "back" points
the way back of the language (mirrored in Persian). A reward the member cannot afford yet is
readable and says how many more points it takes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from kiosk.ui.widgets import ICON_FONT, ICONS, ButtonIcon, KButton, icon_glyph
from tests.ui.conftest import CASHIER_PIN, Kiosk
from tests.ui.screen_checks import (
    font_characters,
    font_file,
    labels,
    missing_glyphs,
)
from tests.ui.test_flows import CARD, enrolled
from tests.ui.test_whole_app_checks import LANGUAGES, fresh, tour

ARROW_BACK = "\ue5c4"  # Material Icons arrow_back: an arrow pointing left
ARROW_FORWARD = "\ue5c8"  # arrow_forward: pointing right

# The main buttons of each screen (by id) and their icon.
MAIN_BUTTONS: dict[str, dict[str, str]] = {
    "attract": {"phone": "phone", "language": "language", "cashier": "cashier"},
    "phone": {"back": "back"},
    "enroll": {"join": "join", "cancel": "cancel"},
    "member": {"purchase": "purchase", "done": "done"},
    "amount": {"confirm": "done"},
    "result": {"done": "done"},
    "redeem": {"approve": "redeem"},
}


def icons(widget: Any) -> Iterator[ButtonIcon]:
    for label in labels(widget):
        if isinstance(label, ButtonIcon):
            yield label


def text_span(button: KButton) -> tuple[float, float]:
    """Where the button's text line is drawn, left to right (window x)."""
    line = max(ln.w for ln in button._label._cached_lines)
    free = button.width - button.padding[0] - button.padding[2]
    left = button.x + button.padding[0] + (free - line) / 2
    return left, left + line


def icon_problems(button: KButton, name: str, rtl: bool) -> list[str]:
    icon = button.icon_label
    if icon is None or icon.parent != button or icon.opacity == 0:
        return ["no icon"]
    found = []
    if not button.text.strip():
        found.append("an icon instead of text")
    if icon.text != icon_glyph(name, rtl):
        found.append(f"icon U+{ord(icon.text):04X}, not {name}")
    button.texture_update()
    left, right = text_span(button)
    if rtl and not icon.x >= right - 1:
        found.append(f"icon at {icon.x:.0f}, not right of the text ({right:.0f})")
    if not rtl and not icon.right <= left + 1:
        found.append(f"icon ends at {icon.right:.0f}, not left of the text ({left:.0f})")
    if icon.x < button.x - 1 or icon.right > button.right + 1:
        found.append("icon outside its button")
    return found


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_icon_drawn_is_in_the_icon_font_and_each_main_button_has_its_icon(
    kiosk_factory: Callable[..., Kiosk], language: str
):
    kiosk, member = fresh(kiosk_factory, language)
    rtl = language == "fa"
    problems: list[str] = []
    seen: set[str] = set()
    for name, screen in tour(kiosk, member):
        for icon in icons(screen):
            assert icon.font_name == ICON_FONT
            path = font_file(icon)
            assert path.name == "MaterialIcons-Regular.ttf"
            if not icon.text or any(ord(c) not in font_characters(path) for c in icon.text):
                problems.append(f"{name}: icon {icon.text!r} not in {path.name}")
        for button_id, icon_name in MAIN_BUTTONS.get(name, {}).items():
            seen.add(name)
            button = screen.ids[button_id]
            problems += [f"{name}.{button_id}: {p}" for p in icon_problems(button, icon_name, rtl)]
    assert seen == set(MAIN_BUTTONS)
    assert problems == []


def test_the_icon_font_and_its_licence_are_shipped_in_assets():
    from kiosk.appliance.assets import assets_dir

    folder = assets_dir() / "icons"
    font = folder / "MaterialIcons-Regular.ttf"
    assert font.stat().st_size < 500_000
    assert "Apache License" in (folder / "LICENSE-Apache-2.0.txt").read_text()
    every = {glyph for pair in ICONS.values() for glyph in pair}
    assert {ord(g) for g in every} <= font_characters(font)


@pytest.mark.parametrize(("language", "arrow"), [("fa", ARROW_FORWARD), ("en", ARROW_BACK)])
def test_back_points_to_where_the_language_reads_from(
    kiosk_factory: Callable[..., Kiosk], language: str, arrow: str
):
    kiosk = kiosk_factory(f'shop.default_language="{language}"', staff=False)
    kiosk.press("phone")
    back = kiosk.ids("back")
    kiosk.pump(2)
    # Persian reads right to left: back is to the right, the icon on the text's right side.
    assert back.icon_label.text == arrow
    assert icon_problems(back, "back", language == "fa") == []
    kiosk.press("back")
    assert kiosk.screen == "attract"


def test_the_back_icon_turns_round_with_the_language(kiosk: Kiosk):
    kiosk.press("language")  # English
    kiosk.press("phone")
    kiosk.pump(2)
    assert kiosk.ids("back").icon_label.text == ARROW_BACK
    kiosk.press("back")  # home: the shop's language (Persian) again
    assert kiosk.app.rtl
    kiosk.press("phone")
    kiosk.pump(2)
    assert kiosk.ids("back").icon_label.text == ARROW_FORWARD
    assert icon_problems(kiosk.ids("back"), "back", True) == []


# -- rewards not yet within reach ----------------------------------------------------------


def relative_luminance(rgba: tuple[float, ...]) -> float:
    """WCAG 2.x relative luminance of an opaque sRGB colour (components 0..1)."""

    def linear(c: float) -> float:
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (linear(c) for c in rgba[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(text: tuple[float, ...], background: tuple[float, ...]) -> float:
    """The WCAG contrast ratio of `text` drawn over `background` (text's alpha blended)."""
    alpha = text[3] if len(text) > 3 else 1.0
    blended = tuple(
        alpha * t + (1 - alpha) * b for t, b in zip(text[:3], background[:3], strict=True)
    )
    lighter, darker = sorted((relative_luminance(blended), relative_luminance(background)))[::-1]
    return (lighter + 0.05) / (darker + 0.05)


def test_contrast_is_computed_as_wcag_says():
    assert contrast((0, 0, 0, 1), (1, 1, 1, 1)) == pytest.approx(21)
    assert contrast((1, 1, 1, 0.45), (0.55, 0.57, 0.6, 1)) < 4.5  # the old greyed look


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_reward_out_of_reach_says_how_many_more_points_readably_and_cannot_be_pressed(
    kiosk_factory: Callable[..., Kiosk], language: str
):
    kiosk = kiosk_factory(f'shop.default_language="{language}"', staff=False)
    enrolled(kiosk, points=150)  # 200 with the bonus; discount-100k costs 500
    kiosk.tap_card(CARD)
    assert kiosk.screen == "member"
    kiosk.pump(2)
    button = kiosk.app.screen.reward_button("discount-100k")

    more = "۳۰۰" if language == "fa" else "300"
    assert more in button.text
    assert button.text.split("\n")[1] == kiosk.shows("member.reward_more", points=300)
    assert button.disabled
    drawn = button.disabled_color if button.disabled else button.color
    assert contrast(tuple(drawn), tuple(button.background_color)) >= 4.5
    assert button.icon_label is not None and button.icon_label.text == icon_glyph("redeem", False)
    assert missing_glyphs(button) == []

    from kivy.tests.common import UnitTestTouch

    finger = UnitTestTouch(*button.to_window(*button.center))
    finger.touch_down()
    finger.touch_up()
    kiosk.pump(2)
    assert kiosk.screen == "member"  # a finger on it does nothing
    within_reach = kiosk.app.screen.reward_button("coffee")
    assert not within_reach.disabled
    assert more not in within_reach.text  # no "more points" on a reward within reach


# -- the calm "+N points" --------------------------------------------------------------------


def test_plus_points_arrives_calmly_fading_in_and_rising_into_place_at_one_size(kiosk: Kiosk):
    """Frame by frame, as the window draws it: the line fades in and rises into its place,
    slowing to a stop; it never passes its place (no bounce) and never changes size."""
    enrolled(kiosk)
    kiosk.tap_card(CARD)
    kiosk.press("purchase")
    kiosk.sign_in("Sara", CASHIER_PIN)
    kiosk.keys("100000")
    confirm = kiosk.ids("confirm")
    frames: list[tuple[float, float, float]] = []
    done: list[bool] = []

    def watch() -> bool:  # once on the result screen, each frame's look of the line
        label = kiosk.app.screen.ids.points
        frames.append((label.opacity, label.rise, label.font_size))
        return bool(done)

    confirm.dispatch("on_release")
    assert kiosk.screen == "result"
    screen = kiosk.app.screen
    kiosk.until(lambda: screen.entrance is not None, "the entrance to start")
    screen.entrance.bind(on_complete=lambda *_: done.append(True))
    watch()
    kiosk.until(watch, "the entrance to end")
    watch()

    assert kiosk.text("points") == kiosk.shows("result.earn", points=10)
    opacity = [f[0] for f in frames]
    rise = [f[1] for f in frames]
    assert opacity[0] < 0.5 and rise[0] < 0  # it starts faint, below its place
    assert len(frames) >= 4  # seen on its way, not only at both ends
    assert opacity == sorted(opacity) and opacity[-1] == 1.0
    assert rise == sorted(rise) and rise[-1] == 0.0  # never above its place
    sizes = {round(f[2], 3) for f in frames}
    assert sizes == {round(kiosk.app.u * kiosk.app.theme.type.hero, 3)}


def test_a_screenshot_shows_plus_points_at_rest(kiosk: Kiosk):
    enrolled(kiosk)
    kiosk.tap_card(CARD)
    kiosk.press("purchase")
    kiosk.sign_in("Sara", CASHIER_PIN)
    kiosk.keys("100000")
    kiosk.press("confirm")
    label = kiosk.ids("points")
    assert label.opacity < 1

    kiosk.app.screen.settle()

    assert (label.opacity, label.rise) == (1.0, 0.0)
