"""The theme: every text colour legible on its background, the shop's brand colour and logo."""

from __future__ import annotations

import re
import struct
import zlib
from pathlib import Path
from typing import Any

import pytest

from kiosk.config import ConfigError
from kiosk.ui.theme import (
    BODY_CONTRAST,
    NON_TEXT_CONTRAST,
    WHITE,
    Colours,
    Theme,
    brand_colours,
    contrast,
    least_contrast,
    luminance,
    parse_hex,
    theme_for,
)
from tests.conftest import make_config
from tests.ui.conftest import Kiosk
from tests.ui.input_checks import overlaps
from tests.ui.screen_checks import low_contrast


def below_bar(theme: Theme) -> list[str]:
    """The theme's declared (text, background) pairs below WCAG AA for body text."""
    return [
        f"{name}: {contrast(text, back):.2f}:1"
        for name, text, back in theme.pairs()
        if contrast(text, back) < BODY_CONTRAST
    ]


def png(path: Path, rgb: tuple[int, int, int] = (200, 30, 30), side: int = 16) -> Path:
    """A small one-colour PNG image at `path`."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(b"\x00" + bytes(rgb) * side for _ in range(side))
    header = struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )
    return path


# -- the contrast ratio and the palette ----------------------------------------------------


@pytest.mark.parametrize(
    ("text", "background", "ratio"),
    [
        ("#000000", "#ffffff", 21.0),
        ("#ffffff", "#ffffff", 1.0),
        ("#767676", "#ffffff", 4.54),  # the lightest grey that passes on white
        ("#777777", "#ffffff", 4.48),
    ],
)
def test_the_contrast_ratio_is_wcags(text, background, ratio):
    assert contrast(parse_hex(text), parse_hex(background)) == pytest.approx(ratio, abs=0.01)


def test_a_translucent_text_is_blended_with_its_background_first():
    half_white = (1.0, 1.0, 1.0, 0.5)

    assert contrast(half_white, parse_hex("#000000")) < contrast(WHITE, parse_hex("#000000"))


def test_large_text_needs_3_to_1_and_body_text_4_5_to_1():
    assert least_contrast(24, bold=False) == 3.0
    assert least_contrast(19, bold=True) == 3.0
    assert least_contrast(19, bold=False) == 4.5


@pytest.mark.parametrize("brand", ["#26599a", "#1f6feb", "#ffe680", "#0b3d2e", "#808080"])
def test_every_text_colour_the_theme_declares_reaches_aa_on_its_background(brand):
    theme = theme_for(brand)

    assert below_bar(theme) == []
    assert len(theme.pairs()) >= 12


def faint_graphics(theme: Theme) -> list[str]:
    """The theme's status lights below WCAG's 3:1 for a graphic that carries meaning."""
    return [
        f"{name}: {contrast(shape, back):.2f}:1"
        for name, shape, back in theme.graphic_pairs()
        if contrast(shape, back) < NON_TEXT_CONTRAST
    ]


@pytest.mark.parametrize("brand", ["#26599a", "#ffe680"])
def test_every_status_light_stands_out_from_the_background(brand):
    theme = theme_for(brand)

    assert faint_graphics(theme) == []
    assert {theme.status(s) for s in ("ok", "warn", "fault", "off")} == {
        theme.colours.status_ok,
        theme.colours.status_warn,
        theme.colours.status_fault,
        theme.colours.status_off,
    }
    assert theme.status("unknown") == theme.colours.status_off


def test_the_graphic_check_catches_the_pale_amber_the_lights_had():
    pale = Theme(colours=Colours(status_warn=(0.95, 0.65, 0.1, 1.0)))

    assert faint_graphics(pale) == ["status_warn on background: 1.87:1"]


def test_the_pair_check_catches_a_grey_too_pale_for_its_background():
    pale = Theme(colours=Colours(muted=(0.62, 0.62, 0.62, 1.0)))

    assert below_bar(pale) == ["muted on background: 2.44:1", "muted on surface: 2.68:1"]


# -- the brand colour ----------------------------------------------------------------------


def test_a_dark_brand_colour_gets_white_text():
    colours = brand_colours(parse_hex("#0b3d2e"))

    assert colours.primary == parse_hex("#0b3d2e")
    assert colours.on_primary == WHITE


def test_a_pale_brand_colour_gets_dark_text():
    colours = brand_colours(parse_hex("#ffe680"))

    assert colours.primary == parse_hex("#ffe680")
    assert luminance(colours.on_primary) < 0.05
    assert contrast(colours.on_primary, colours.primary) >= BODY_CONTRAST
    assert contrast(colours.on_primary, colours.primary_down) >= BODY_CONTRAST


def test_the_main_buttons_follow_the_brand_colour(kiosk_factory):
    kiosk = kiosk_factory('shop.brand_colour="#ffe680"')
    button = kiosk.ids("phone")

    assert tuple(button.background_color) == parse_hex("#ffe680")
    assert luminance(tuple(button.color)) < 0.05  # dark text on the pale yellow
    assert low_contrast(kiosk.app.screen) == []


def test_the_main_buttons_keep_white_text_on_a_dark_brand_colour(kiosk_factory):
    kiosk = kiosk_factory('shop.brand_colour="#0b3d2e"')
    button = kiosk.ids("phone")

    assert tuple(button.background_color) == parse_hex("#0b3d2e")
    assert tuple(button.color) == WHITE
    assert low_contrast(kiosk.app.screen) == []


# -- the configuration ---------------------------------------------------------------------


def problems(*overrides: str) -> dict[str, str]:
    with pytest.raises(ConfigError) as caught:
        make_config(*overrides)
    return {p.key: p.message for p in caught.value.problems}


@pytest.mark.parametrize("colour", ["blue", "#12345", "1f6feb", "#1f6fegg"])
def test_a_brand_colour_that_is_not_hex_is_a_config_problem(colour):
    assert problems(f'shop.brand_colour="{colour}"') == {
        "shop.brand_colour": f"must be a colour written as #rrggbb (e.g. #1f6feb), not {colour!r}"
    }


def test_a_logo_that_is_missing_a_folder_or_not_a_png_is_a_config_problem(tmp_path):
    text = tmp_path / "logo.png"
    text.write_text("not an image")

    assert problems(f'shop.logo="{tmp_path / "nope.png"}"') == {
        "shop.logo": f"'{tmp_path / 'nope.png'}' does not exist: copy the PNG file there,"
        ' or set ""'
    }
    assert problems(f'shop.logo="{tmp_path}"') == {
        "shop.logo": f"'{tmp_path}' is a folder: name the logo's PNG file"
    }
    assert problems(f'shop.logo="{text}"') == {
        "shop.logo": f"'{text}' is not a PNG image: save the logo as PNG"
    }


def test_the_shipped_brand_colour_and_no_logo_are_valid():
    config = make_config()

    assert config.shop.brand_colour == "#26599a"
    assert config.shop.logo == ""


# -- the logo ------------------------------------------------------------------------------


def images(widget: Any) -> list[Any]:
    from kivy.uix.image import Image

    return [w for w in widget.walk(restrict=True) if isinstance(w, Image)]


@pytest.mark.parametrize("language", ["fa", "en"])
def test_the_attract_screen_shows_the_configured_logo_beside_the_shop_name(
    kiosk_factory, tmp_path, language
):
    logo = png(tmp_path / "logo.png")

    kiosk: Kiosk = kiosk_factory(f'shop.logo="{logo}"', f'shop.default_language="{language}"')

    screen = kiosk.app.screen
    assert [image.source for image in images(screen)] == [str(logo)]
    image, name = kiosk.ids("logo"), kiosk.ids("shop")
    assert image.texture is not None  # the file was read
    assert (image.x > name.x) if language == "fa" else (image.x < name.x)  # at the reading start
    assert overlaps(screen) == []


def test_without_a_logo_the_attract_screen_draws_no_image(kiosk: Kiosk):
    screen = kiosk.app.screen

    assert images(screen) == []
    assert "logo" not in screen.ids
    assert overlaps(screen) == []


# -- no literal look: every colour and font size is the theme's ------------------------------

UI = Path(__file__).resolve().parents[2] / "kiosk" / "ui"
_NUMBER = r"\(?\[?\s*[0-9.]"
_KV_LITERAL = re.compile(
    rf"^\s*(font_scale|font_size|color|rgba|fill|track|background_color|disabled_color)"
    rf":\s*{_NUMBER}",
    re.M,
)
_PY_LITERAL = re.compile(
    rf"\b(font_scale|color|background_color|disabled_color|fill)\s*=\s*{_NUMBER}",
)


def literal_looks(text: str, kv: bool) -> list[int]:
    """The lines of `text` that set a colour or a font size to a number, not a theme name."""
    pattern = _KV_LITERAL if kv else _PY_LITERAL
    return [text[: m.start()].count("\n") + 1 for m in pattern.finditer(text)]


def test_the_literal_look_check_catches_a_number_where_a_theme_name_belongs():
    kv = "<X>:\n    font_scale: 0.04\n    color: 1, 0, 0, 1\n    fill: app.theme.colours.x\n"
    py = "button = KButton(font_scale=0.032)\nbutton.background_color = (0.85, 0.55, 0.1, 1)\n"

    assert literal_looks(kv, kv=True) == [2, 3]
    assert literal_looks(py, kv=False) == [1, 2]
    assert literal_looks("    font_scale: app.theme.type.small\n", kv=True) == []
    assert literal_looks("font_scale=app.theme.type.fine", kv=False) == []


def test_no_screen_sets_a_colour_or_a_font_size_the_theme_does_not_name():
    found = {
        f"{path.relative_to(UI)}:{line}"
        for pattern, kv in (("kv/*.kv", True), ("screens/*.py", False))
        for path in sorted(UI.glob(pattern))
        for line in literal_looks(path.read_text(encoding="utf-8"), kv)
    }

    assert found == set()
