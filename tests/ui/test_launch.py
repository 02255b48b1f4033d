"""On a device the kiosk is fullscreen without a cursor; on a laptop, a window of the set size."""

from __future__ import annotations

from pathlib import Path

import pytest

from kiosk.ui.launch import configure_kivy
from tests.conftest import make_config


@pytest.fixture
def kivy_config(window):
    from kivy.config import Config

    keys = [
        ("graphics", "width"),
        ("graphics", "height"),
        ("graphics", "fullscreen"),
        ("graphics", "show_cursor"),
    ]
    saved = {key: Config.get(*key) for key in keys}
    yield Config
    for (section, name), value in saved.items():
        Config.set(section, name, value)


def test_a_device_is_fullscreen_with_no_cursor(kivy_config, tmp_path: Path):
    config = make_config("ui.fullscreen=true", "ui.show_cursor=false")

    configure_kivy(config, tmp_path)

    assert kivy_config.get("graphics", "fullscreen") == "auto"
    assert kivy_config.get("graphics", "show_cursor") == "0"


def test_a_laptop_gets_a_window_of_the_configured_size(kivy_config, tmp_path: Path):
    configure_kivy(make_config("ui.width=1280", "ui.height=800"), tmp_path)

    assert kivy_config.get("graphics", "fullscreen") == "0"
    assert (kivy_config.get("graphics", "width"), kivy_config.get("graphics", "height")) == (
        "1280",
        "800",
    )
