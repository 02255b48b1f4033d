"""Window settings Kivy reads once, before its window exists.

The app itself is built by the composition root, kiosk/bootstrap.py.
"""

from __future__ import annotations

import os
from pathlib import Path

from kiosk.config import KioskConfig


def configure_kivy(config: KioskConfig, data_dir: Path) -> None:
    """Settings Kivy reads once, before its window exists: size, fullscreen, no args."""
    os.environ.setdefault("KIVY_NO_ARGS", "1")
    # Kivy logs through Python's logging (to the journal on a device) and leaves stderr
    # alone; in its own mode it swallows stderr, tracebacks included.
    os.environ.setdefault("KIVY_LOG_MODE", "PYTHON")
    # Kivy writes its own config and logs here, not in the user's home.
    os.environ.setdefault("KIVY_HOME", str(data_dir / "kivy"))
    from kivy.config import Config

    ui = config.ui
    Config.set("graphics", "width", str(ui.width))
    Config.set("graphics", "height", str(ui.height))
    Config.set("graphics", "fullscreen", "auto" if ui.fullscreen else "0")
    Config.set("graphics", "show_cursor", "1" if ui.show_cursor else "0")
    Config.set("kivy", "exit_on_escape", "0")
    # A touchscreen is the only input; a mouse's right button would draw red dots.
    Config.set("input", "mouse", "mouse,disable_multitouch")
