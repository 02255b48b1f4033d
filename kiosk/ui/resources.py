"""What the touch app loads once per process: its fonts (Vazirmatn, the icons) and its kv
rules, from the assets the appliance installs."""

from __future__ import annotations

from pathlib import Path

from kivy.core.text import LabelBase
from kivy.lang import Builder

from kiosk.appliance.assets import assets_dir
from kiosk.ui.widgets import ICON_FONT

ASSETS = assets_dir()
FONT = "Kiosk"
# The kv rules, in the order they are loaded: the shared widgets' rules (and every
# screen's background) first, so that a screen's own rule is applied after them.
KV_DIR = Path(__file__).with_name("kv")
KV_FILES = tuple(
    KV_DIR / f"{name}.kv"
    for name in ("widgets", "shopper", "cashier", "technician", "verify", "feedback", "first_boot")
)


def load_resources() -> None:
    """Register the font and load the kv rules, once per process."""
    if FONT not in LabelBase._fonts:
        fonts = ASSETS / "fonts"
        LabelBase.register(
            FONT,
            fn_regular=str(fonts / "Vazirmatn-Regular.ttf"),
            fn_bold=str(fonts / "Vazirmatn-Bold.ttf"),
        )
    if ICON_FONT not in LabelBase._fonts:
        LabelBase.register(
            ICON_FONT, fn_regular=str(ASSETS / "icons" / "MaterialIcons-Regular.ttf")
        )
    for kv_file in KV_FILES:
        if str(kv_file) not in Builder.files:
            Builder.load_file(str(kv_file))
