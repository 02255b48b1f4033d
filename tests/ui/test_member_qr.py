"""The member screen's QR code (kiosk/ui/qr.py): the hub's phone page, nothing of the member.

No pure-Python QR decoder is pinned here (the readers wrap zbar or zxing, compiled), so the
picture is checked the other way round: the matrix drawn equals a fresh encode of the URL
the page should have, and the texture on the screen has those modules, pixel for pixel.
"""

from __future__ import annotations

from typing import Any

import pytest
import segno

from kiosk.core.pulled import PROGRAM_KEY
from kiosk.core.store.outbox import SyncState
from kiosk.ui.qr import QUIET, matrix
from tests.ui.conftest import Kiosk

PHONE = "09121234567"
CARD = "A1B2C3D4"
HUB = 'crm.url="https://hub.shop.ir:8443/"'


def on_member_screen(kiosk: Kiosk) -> Any:
    kiosk.service.enroll(PHONE, client_txn_id="setup", card=CARD)
    kiosk.tap_card(CARD)
    assert kiosk.screen == "member"
    kiosk.pump()
    return kiosk.ids("qr")


def expected(url: str) -> list[list[bool]]:
    code = segno.make_qr(url, error="m", boost_error=False)
    return [[bool(m) for m in row] for row in code.matrix_iter(scale=1, border=QUIET)]


def drawn(qr: Any) -> list[list[bool]]:
    """The modules as the texture holds them (RGBA rows bottom up), dark as True."""
    texture = qr.texture
    width, height = texture.size
    pixels = texture.pixels
    return [
        [pixels[((height - 1 - y) * width + x) * 4] < 128 for x in range(width)]
        for y in range(height)
    ]


def test_the_member_screen_shows_the_hubs_page_as_a_qr(kiosk_factory: Any):
    kiosk = kiosk_factory(HUB)
    qr = on_member_screen(kiosk)
    url = "https://hub.shop.ir:8443/club/?lang=fa"
    assert qr.data == url
    assert qr.modules == expected(url)
    assert drawn(qr) == expected(url)
    # Nothing of the member in it: neither the phone in any form nor their id.
    member_id = kiosk.service.identify_card(CARD).member_id
    assert PHONE[1:] not in url and member_id not in url
    # Readable at 800x480: whole modules of 4 pixels and more, the quiet zone included,
    # on screen and clear of every other widget of the screen.
    assert qr.opacity == 1
    assert kiosk.text("qr_caption") == kiosk.shows("member.phone_page")
    assert qr.module_pixels() >= 4
    assert qr.right <= kiosk.window.width and qr.y >= 0 and qr.top <= kiosk.window.height
    caption = kiosk.ids("qr_caption")
    for name in ("balance", "tier", "reward_progress_text", "rewards", "purchase", "message"):
        other = kiosk.ids(name)
        assert not qr.collide_widget(other), name
        assert not caption.collide_widget(other), name


def test_the_english_screen_opens_the_page_in_english(kiosk_factory: Any):
    kiosk = kiosk_factory(HUB, 'shop.default_language="en"')
    qr = on_member_screen(kiosk)
    assert qr.data == "https://hub.shop.ir:8443/club/?lang=en"
    assert qr.modules == matrix("https://hub.shop.ir:8443/club/?lang=en")


def test_an_offline_only_kiosk_shows_no_qr(kiosk: Kiosk):
    qr = on_member_screen(kiosk)
    assert qr.data == "" and qr.opacity == 0 and qr.parent.width == 0
    assert kiosk.text("qr_caption") == ""
    assert kiosk.ids("rewards").width > kiosk.window.width * 0.8  # the room is the rewards'


@pytest.mark.parametrize(
    ("setting", "shown"),
    [
        ({"enabled": False}, ""),
        ({"enabled": True}, "https://hub.shop.ir:8443/club/?lang=fa"),
        (
            {"enabled": True, "url": "https://club.example.ir"},
            "https://club.example.ir/club/?lang=fa",
        ),
        ({"enabled": True, "url": "javascript:alert(1)"}, "https://hub.shop.ir:8443/club/?lang=fa"),
        (None, "https://hub.shop.ir:8443/club/?lang=fa"),
    ],
    ids=["off", "on", "public-url", "not-a-web-url", "not-set"],
)
def test_the_chains_program_turns_it_off_or_names_the_public_url(
    kiosk_factory: Any, setting: Any, shown: str
):
    kiosk = kiosk_factory(HUB)
    program: dict[str, Any] = {"version": 3}
    if setting is not None:
        program["phone_page"] = setting
    SyncState(kiosk.service.conn).set(**{PROGRAM_KEY: program})
    qr = on_member_screen(kiosk)
    assert qr.data == shown
    assert (qr.opacity == 1) == bool(shown)
