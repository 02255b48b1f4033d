"""Checks of every screen's message line: its style says what kind of message it is, and
nothing said to one person is still there for the next.

Each check returns what it found wrong, as readable lines; an empty list means it passes.
The whole-app tests (test_message_checks.py) run them on every screen of the tour.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from kiosk.errors import WrongPin

# A message of each kind, to show on any screen.
ERROR = WrongPin(attempts_left=2)
SUCCESS_KEY = "tech.sync_started"

Arrive = Callable[[Any], None]


def message_lines(widget: Any) -> Iterator[Any]:
    """The message lines (the `Message` labels) under `widget`, shown or not."""
    for child in widget.walk(restrict=True):
        if type(child).__name__ == "Message":
            yield child


def colour(label: Any) -> tuple[float, ...]:
    """The colour `label` draws its text in, rounded for comparison."""
    return tuple(round(float(part), 3) for part in label.color)


def tone_problems(app: Any, stops: list[tuple[str, Arrive]]) -> list[str]:
    """Screens whose message line draws an error and a success alike, or not in the
    app's own colour for each (so that a person tells them apart at a glance)."""
    found = []
    for name, arrive in stops:
        arrive(app)
        screen = app.screen
        lines = list(message_lines(screen))
        if not lines:
            continue
        screen.fail(ERROR)
        errors = {colour(line) for line in lines if line.text}
        screen.say(SUCCESS_KEY)
        successes = {colour(line) for line in lines if line.text}
        if not errors or not successes:
            found.append(f"{name}: the message line shows nothing")
        elif errors & successes:
            found.append(f"{name}: an error and a success both in {sorted(errors & successes)}")
        reference = _reference(app)
        if reference is not None:
            error_colour, success_colour = reference
            if errors != {error_colour}:
                found.append(f"{name}: an error in {sorted(errors)}, not {error_colour}")
            if successes != {success_colour}:
                found.append(f"{name}: a success in {sorted(successes)}, not {success_colour}")
        screen.say()
    return found


def _reference(app: Any) -> tuple[tuple[float, ...], tuple[float, ...]] | None:
    """The colours of an error and of a success on the attract screen (the reference)."""
    screen = app.manager.get_screen("attract")
    lines = list(message_lines(screen))
    if not lines:
        return None
    line = lines[0]
    text, tone = line.text, getattr(line, "tone", None)
    screen.fail(ERROR)
    error_colour = colour(line)
    screen.say(SUCCESS_KEY)
    success_colour = colour(line)
    line.text = text
    if tone is not None:
        line.tone = tone
    return error_colour, success_colour


def leftovers(app: Any, stops: list[tuple[str, Arrive]], end: Callable[[], None]) -> list[str]:
    """Messages said on one screen that a later person still sees on any screen.

    For each screen: arrive, say an error there, let `end` end the person's session (idle,
    say), then arrive at every screen as the next person and look at its message line.
    """
    found = []
    for number, (said_on, arrive) in enumerate(stops, start=100):
        arrive(app)
        if not list(message_lines(app.screen)):
            continue
        app.screen.fail(WrongPin(attempts_left=number))  # a text of this screen's own
        said = {line.text for line in message_lines(app.screen) if line.text}
        end()
        for seen_on, arrive_next in stops:
            arrive_next(app)
            seen = {line.text for line in message_lines(app.screen)} & said
            if seen:
                found.append(f"said on {said_on}, still on {seen_on}")
    return found


def language_leftovers(app: Any, stops: list[tuple[str, Arrive]]) -> list[str]:
    """Messages that stay on a screen, in the old language, after the language changes."""
    found = []
    for number, (name, arrive) in enumerate(stops, start=100):
        arrive(app)
        screen = app.screen
        if not list(message_lines(screen)):
            continue
        screen.fail(WrongPin(attempts_left=number))
        said = {line.text for line in message_lines(screen) if line.text}
        app.toggle_language()
        if said & {line.text for line in message_lines(app.screen)}:
            found.append(f"{name}: still says it in the language before")
        app.toggle_language()
    return found
