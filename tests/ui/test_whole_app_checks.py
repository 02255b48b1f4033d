"""Checks run on every screen of the app, in Persian and in English, each shown to catch a fault.

The tour (kiosk/ui/tour.py) visits every screen with plausible data; on each, the checks of
screen_checks.py look at every label and button: every character drawn has a glyph in the
font, every label keeps its alignment through a language round trip, and shortened text
keeps the start of its line. Each check is also run on a screen broken on purpose.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from kiosk.ui.tour import seed, stops
from tests.ui.conftest import Kiosk
from tests.ui.screen_checks import (
    alignments,
    changed_alignments,
    contrasts,
    lost_starts,
    low_contrast,
    missing_glyphs,
)

LANGUAGES = ["fa", "en"]


def fresh(kiosk_factory: Callable[..., Kiosk], language: str) -> tuple[Kiosk, str]:
    """A kiosk whose shop speaks `language` (no language change yet) and its tour's member."""
    kiosk = kiosk_factory(f'shop.default_language="{language}"', staff=False)
    return kiosk, seed(kiosk.app)


def tour(kiosk: Kiosk, member: str) -> Iterator[tuple[str, Any]]:
    """Visit every screen in turn: (name, screen)."""
    for name, arrive in stops(member):
        kiosk.app.go_home()  # in the shop's language: no language change
        arrive(kiosk.app)
        kiosk.pump(3)
        assert kiosk.screen == name
        yield name, kiosk.app.screen
    kiosk.app.go_home()
    kiosk.pump(1)


def round_trip(kiosk: Kiosk) -> None:
    """A shopper switches to the other language and back (the attract screen's button)."""
    kiosk.press("language")
    kiosk.press("language")


def stretched(label: Any) -> str:
    """`label`'s text four times over, the repeats after its end (so that it is shortened)."""
    return " ".join([label.text] * 4)


# -- the whole app -------------------------------------------------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_screen_draws_only_characters_the_font_has(kiosk_factory, language):
    kiosk, member = fresh(kiosk_factory, language)

    problems = {
        name: found for name, screen in tour(kiosk, member) if (found := missing_glyphs(screen))
    }

    assert problems == {}


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_label_keeps_its_alignment_through_a_language_round_trip(kiosk_factory, language):
    kiosk, member = fresh(kiosk_factory, language)
    before = {name: alignments(screen) for name, screen in tour(kiosk, member)}

    round_trip(kiosk)

    after = {name: alignments(screen) for name, screen in tour(kiosk, member)}
    problems = {
        name: found for name in before if (found := changed_alignments(before[name], after[name]))
    }
    assert problems == {}
    assert sum(len(labels) for labels in before.values()) > 100  # the walk saw the screens


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_shortened_text_keeps_the_start_of_its_line(kiosk_factory, language):
    kiosk, member = fresh(kiosk_factory, language)
    rtl = language == "fa"

    # Every label, made too long for itself: how it would shorten a long name or message.
    problems = {
        name: found
        for name, screen in tour(kiosk, member)
        if (found := lost_starts(screen, rtl, lengthen=stretched))
    }

    assert problems == {}


@pytest.mark.parametrize(
    ("language", "brand"),
    [("fa", "#26599a"), ("en", "#26599a"), ("fa", "#ffe680")],  # the shipped blue, a pale one
)
def test_every_text_is_legible_on_the_colour_drawn_behind_it(kiosk_factory, language, brand):
    kiosk = kiosk_factory(
        f'shop.default_language="{language}"', f'shop.brand_colour="{brand}"', staff=False
    )
    member = seed(kiosk.app)
    checked = 0

    problems = {}
    for name, screen in tour(kiosk, member):
        checked += len(contrasts(screen))
        if found := low_contrast(screen):
            problems[name] = found

    assert problems == {}
    assert checked > 100  # the walk found the labels' texts and what is behind them


# -- each check catches a screen broken on purpose -----------------------------------------


def test_the_glyph_check_catches_a_character_the_font_lacks(kiosk: Kiosk):
    headline = kiosk.ids("promise")

    headline.text = kiosk.app.show("\u25cf\u25cf\u25cf")  # the PIN dots that drew nothing

    assert missing_glyphs(kiosk.app.screen) == [
        "'\u25cf\u25cf\u25cf': U+25CF not in Vazirmatn-Bold.ttf"
    ]


BROKEN_RULES = """
<OldKLabel@KLabel>:
    halign: "right" if app.rtl else "left"

<OldCentred@OldKLabel>:
    halign: "center"
"""


def test_the_alignment_check_catches_a_rule_that_realigns_on_a_language_change(kiosk: Kiosk):
    from kivy.factory import Factory
    from kivy.lang import Builder

    Builder.load_string(BROKEN_RULES, filename="broken-alignment.kv")
    try:
        headline = Factory.OldCentred()  # the rules before the fix: center, until...
        kiosk.ids("promise").parent.add_widget(headline)
        kiosk.pump(1)
        before = alignments(kiosk.app.screen)

        round_trip(kiosk)

        assert changed_alignments(before, alignments(kiosk.app.screen)) == [
            f"{headline.text!r}: center -> right"
        ]
    finally:
        Builder.unload_file("broken-alignment.kv")


@pytest.mark.parametrize(("language", "cut"), [("fa", "right"), ("en", "left")])
def test_the_shortening_check_catches_a_line_cut_at_its_start(kiosk_factory, language, cut):
    kiosk = kiosk_factory(f'shop.default_language="{language}"')
    from kiosk.ui.widgets import KLabel

    label = KLabel(text=kiosk.shows("pin.pick"), size_hint_y=0.1)
    label.shorten_from = cut  # as the rule was for every language before the fix
    kiosk.ids("promise").parent.add_widget(label)
    kiosk.pump(1)

    found = lost_starts(kiosk.app.screen, language == "fa", lengthen=stretched)

    assert len(found) == 1 and found[0].startswith(repr(stretched(label)))


def test_the_contrast_check_catches_pale_text_and_a_pale_button(kiosk: Kiosk):
    promise, language = kiosk.ids("promise"), kiosk.ids("language")
    assert low_contrast(kiosk.app.screen) == []

    promise.color = (0.75, 0.75, 0.75, 1)  # light grey on the pale background
    language.background_color = (0.8, 0.8, 0.8, 1)  # white text on a light grey face
    kiosk.pump(1)

    found = low_contrast(kiosk.app.screen)
    assert f"{language.text!r}: #ffffff on #cccccc is 1.61:1, below 4.5:1" in found
    assert f"{promise.text!r}: #bfbfbf on #f5f5f0 is 1.67:1, below 3.0:1" in found
