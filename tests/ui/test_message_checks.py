"""The whole app's message lines: success and error in their own styles on every screen,
and nothing said to one person is left for the next (idle, or a language change)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from kiosk.ui.screens.enrollment import EnrollScreen
from kiosk.ui.screens.shopper import PhoneScreen
from kiosk.ui.tour import seed, stops
from tests.ui.conftest import Kiosk
from tests.ui.message_checks import language_leftovers, leftovers, tone_problems


@pytest.fixture
def toured(kiosk_factory: Callable[..., Kiosk]) -> tuple[Kiosk, list[tuple[str, Any]]]:
    kiosk = kiosk_factory(staff=False)
    member_id = seed(kiosk.app)
    tour = [(name, _settled(kiosk, arrive)) for name, arrive in stops(member_id)]
    return kiosk, tour


def _settled(kiosk: Kiosk, arrive: Callable[[Any], None]) -> Callable[[Any], None]:
    def arrived(app: Any) -> None:
        app.counter.touched()  # a person there (the app's own tick would go home when idle)
        arrive(app)
        kiosk.pump(1)

    return arrived


def _idle(kiosk: Kiosk) -> Callable[[], None]:
    def end() -> None:
        kiosk.tick(seconds=kiosk.app.config_.ui.idle_timeout_seconds + 1)

    return end


@pytest.mark.parametrize("language", ["fa", "en"])
def test_every_screen_says_errors_and_successes_each_in_its_own_style(toured, language):
    kiosk, tour = toured
    if kiosk.app.lang != language:
        kiosk.app.toggle_language()

    assert tone_problems(kiosk.app, tour) == []
    assert not kiosk.app.bugs


def test_no_screen_keeps_a_message_for_the_next_person(toured):
    kiosk, tour = toured

    assert leftovers(kiosk.app, tour, _idle(kiosk)) == []
    assert not kiosk.app.bugs


def test_no_screen_keeps_a_message_in_the_language_before(toured):
    kiosk, tour = toured

    assert language_leftovers(kiosk.app, tour) == []


def test_the_style_check_catches_a_screen_that_says_everything_alike(toured, monkeypatch):
    kiosk, tour = toured

    def say_without_style(screen: Any, key: str = "", **params: Any) -> None:
        screen.ids.message.text = screen.app.t(key, **params) if key else ""

    monkeypatch.setattr(PhoneScreen, "say", say_without_style)

    problems = tone_problems(kiosk.app, tour)

    assert {problem.split(":")[0] for problem in problems} == {"phone"}


def test_the_leftover_checks_catch_a_screen_that_keeps_its_message(toured, monkeypatch):
    kiosk, tour = toured
    monkeypatch.setattr(EnrollScreen, "clear_message", lambda screen: None)

    assert language_leftovers(kiosk.app, tour) == ["enroll: still says it in the language before"]
    assert leftovers(kiosk.app, tour, _idle(kiosk)) == ["said on enroll, still on enroll"]
