"""A screen's bug on a card tap leaves the journal without the card's id.

The issue's attack: an EM4100 card (ten digits, no shape a pattern may mask) tapped while
the screen handling it fails; the traceback in the journal named the card. Now the id is
masked by field (`kiosk/appliance/log_fields.py`: the `uid` of the frames it went through).
"""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest

from kiosk.appliance import logs
from tests.ui.conftest import Kiosk

EM4100 = "0102030405"


@pytest.fixture
def journal() -> Iterator[io.StringIO]:
    """What the touch app writes to the journal (the real log configuration)."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    out = io.StringIO()
    logs.configure(logging.INFO, stream=out, environ={})
    yield out
    root.handlers[:] = handlers
    root.setLevel(level)


def test_a_screen_failing_on_an_em4100_card_leaves_no_card_id_in_the_journal(
    kiosk: Kiosk, journal: io.StringIO, monkeypatch: pytest.MonkeyPatch
):
    def broken(uid: str, *_args: object, **_kwargs: object) -> None:
        raise KeyError(uid)  # a lookup's bug, with the id as its message

    monkeypatch.setattr(kiosk.service, "identify_card", broken)

    kiosk.tap_card(EM4100)

    assert kiosk.message() == kiosk.shows("error.generic")  # the shopper sees a message
    written = journal.getvalue()
    assert "unexpected error in the touch app" in written and "KeyError" in written
    assert EM4100 not in written
