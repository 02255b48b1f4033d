"""The member screen's reward buttons read whole at 800x480 and 1280x800, in both languages:
the reward's name on one line and its points (or how many more it takes) under it, drawn
smaller rather than cut. At 1280x800 they read "A free coffee: needs 6 ..." and
"100,000 Toman off: nee..." (docs/screenshots/*-member-1280x800.png)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from kiosk.ui.tour import seed, stops
from tests.ui.conftest import Kiosk

SIZES = [(800, 480), (1280, 800)]
# As `make screenshots` has it: a hub, so the phone page's QR takes its room beside them.
HUB = 'crm.url="https://club.example.ir"'


def drawn_lines(button: Any) -> list[str]:
    """The lines the button draws: what is left of its text after Kivy laid it out."""
    button.texture_update()
    core = button._label
    return ["".join(word.text for word in line.words) for line in core._cached_lines]


def cut(button: Any) -> list[str]:
    """What is wrong with how `button` draws its text: a line not drawn whole, or wider
    than the room beside its icon."""
    found = []
    if drawn_lines(button) != button.text.split("\n"):
        found.append(f"{button.text!r} drawn as {drawn_lines(button)!r}")
    room = button.width - button.padding[0] - button.padding[2]
    widest = max((line.w for line in button._label._cached_lines), default=0)
    if widest > room + 1:
        found.append(f"{button.text!r}: {widest:.0f} wide in {room:.0f}")
    return found


def member_screen(kiosk: Kiosk, size: tuple[int, int]) -> list[Any]:
    member_id = seed(kiosk.app)
    kiosk.window.size = size
    kiosk.pump(2)
    dict(stops(member_id))["member"](kiosk.app)
    kiosk.pump(3)
    assert kiosk.screen == "member"
    assert kiosk.ids("qr").data  # the QR beside the rewards, as in the screenshots
    return list(kiosk.ids("rewards").children)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("language", ["fa", "en"])
def test_every_reward_button_reads_whole(
    kiosk_factory: Callable[..., Kiosk], language: str, size: tuple[int, int]
) -> None:
    kiosk = kiosk_factory(HUB, f'shop.default_language="{language}"', staff=False)
    try:
        buttons = member_screen(kiosk, size)
        assert len(buttons) == 3
        problems = [problem for button in buttons for problem in cut(button)]
        more = kiosk.shows("member.reward_more", points=6 if language == "en" else "۶")
        coffee = kiosk.app.screen.reward_button("coffee")
    finally:
        kiosk.window.size = (800, 480)

    assert problems == []
    assert coffee.text.split("\n")[1] == more  # "needs 6 more" under "A free coffee"


def test_a_long_reward_name_is_drawn_smaller_not_cut(kiosk_factory: Callable[..., Kiosk]) -> None:
    kiosk = kiosk_factory(HUB, 'shop.default_language="en"', staff=False)
    try:
        buttons = member_screen(kiosk, (1280, 800))
        button = kiosk.app.screen.reward_button("coffee")
        nominal = button.font_size
        button.text = kiosk.app.show("A large cappuccino and an almond croissant") + "\n6 more"
        kiosk.pump(2)
        problems = cut(button)
        smaller = button.font_size
    finally:
        kiosk.window.size = (800, 480)

    assert len(buttons) == 3
    assert problems == []
    assert 0.5 * nominal < smaller < nominal
