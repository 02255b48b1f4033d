"""Every request reaches a screen that takes it; every screen shown by name can be."""

from __future__ import annotations

from typing import Any, get_args

import pytest

from kiosk.ui.requests import BareScreen, RequestedScreen, ScreenRequest
from kiosk.ui.screens import SCREENS


def takes(screen_class: type) -> Any:
    """What a screen's `prepare` takes: the argument of its generic base, `KioskScreen[...]`."""
    (request_type,) = get_args(screen_class.__orig_bases__[0])  # type: ignore[attr-defined]
    return request_type


def test_every_screen_has_a_name_to_go_to():
    assert set(SCREENS) == set(get_args(BareScreen)) | set(get_args(RequestedScreen))


@pytest.mark.parametrize("request_class", get_args(ScreenRequest), ids=lambda c: c.__name__)
def test_a_request_is_taken_by_the_screen_it_names(request_class):
    assert issubclass(request_class, takes(SCREENS[request_class.screen]))


@pytest.mark.parametrize("name", sorted(SCREENS))
def test_a_screen_is_shown_by_name_exactly_when_it_needs_no_request(name):
    assert (name in get_args(BareScreen)) == isinstance(None, takes(SCREENS[name]))
