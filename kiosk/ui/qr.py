"""The QR code on the member screen: the hub's phone page (docs/club.md), drawn as a texture.

It names the page and the screen's language, nothing of the member: the same picture for
everyone, so a photo of it over a shopper's shoulder gives nothing away, and the page asks
for the number and a code by SMS before it shows anything. The address is the program's
`phone_page.url` (the hub's public one, which a phone on mobile data reaches) or else the
kiosk's CRM URL; there is no QR on a kiosk with neither (offline only), nor when the
chain's program says `phone_page: {enabled: false}`.

segno makes the matrix (pure Python, no compiled parts: it runs on the Pi as it is);
Kivy draws it from a texture of one pixel per module, magnified without smoothing.
"""

from __future__ import annotations

import sqlite3
from typing import Any
from urllib.parse import urlsplit

import segno
from kivy.graphics.texture import Texture
from kivy.properties import StringProperty
from kivy.uix.image import Image

from kiosk.core.pulled import PROGRAM_KEY
from kiosk.core.store.outbox import SyncState

PATH = "/club/"
QUIET = 4  # modules of white around the code, as the standard asks
ERROR = "m"  # 15% of the code may be lost (a glare on the screen) and it still reads


def phone_page_url(conn: sqlite3.Connection, crm_url: str, language: str) -> str | None:
    """The page's address for the QR, or None when there is none to show."""
    data = SyncState(conn).get(PROGRAM_KEY)
    setting = data.get("phone_page") if isinstance(data, dict) else None
    if isinstance(setting, dict) and setting.get("enabled") is False:
        return None
    given = setting.get("url") if isinstance(setting, dict) else None
    for base in (given, crm_url):  # a program's URL that is no web address is not used
        parts = urlsplit(base if isinstance(base, str) else "")
        if parts.scheme in ("http", "https") and parts.netloc:
            shown = "en" if language == "en" else "fa"
            return f"{parts.scheme}://{parts.netloc}{PATH}?lang={shown}"
    return None


def matrix(text: str) -> list[list[bool]]:
    """The code's modules, dark as True, with its quiet zone, top row first."""
    code = segno.make_qr(text, error=ERROR, boost_error=False)
    return [[bool(m) for m in row] for row in code.matrix_iter(scale=1, border=QUIET)]


def texture_of(modules: list[list[bool]]) -> Texture:
    """A texture of one pixel per module, black on white (Kivy's rows go bottom up)."""
    size = len(modules)
    pixels = bytearray()
    for row in reversed(modules):
        for dark in row:
            pixels += b"\x00\x00\x00" if dark else b"\xff\xff\xff"
    texture = Texture.create(size=(size, size), colorfmt="rgb")
    texture.mag_filter = "nearest"
    texture.min_filter = "nearest"
    texture.blit_buffer(bytes(pixels), colorfmt="rgb", bufferfmt="ubyte")
    return texture


class QrCode(Image):
    """The QR of `data` ("" shows nothing), whole modules of the same size on screen."""

    data = StringProperty("")

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.fit_mode = "contain"
        self.modules: list[list[bool]] = []
        self.opacity = 0
        self.bind(data=self._draw)

    def _draw(self, *_args: Any) -> None:
        self.modules = matrix(self.data) if self.data else []
        self.texture = texture_of(self.modules) if self.modules else None
        self.opacity = 1 if self.modules else 0

    def module_pixels(self) -> float:
        """How many screen pixels one module takes (a phone reads 3 and up)."""
        if not self.modules:
            return 0.0
        return float(min(self.width, self.height)) / len(self.modules)
