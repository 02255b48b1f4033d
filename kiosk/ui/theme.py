"""The kiosk's look: one palette, a type scale and spacing units, read by the kv rules.

The app builds one `Theme` from the configuration (`theme_for`: the shop's brand colour
becomes the primary colour, the logo is shown on the attract screen) and the kv rules read
it as `app.theme` (`app.theme.colours.text`, `app.u * app.theme.type.title`, ...). Sizes are
shares of the window's height (`app.u`), so 800x480 and 1280x800 both fit.

Every text colour is chosen for its background to reach WCAG 2.x AA contrast: 4.5:1 for
body text, 3:1 for large text (https://www.w3.org/TR/WCAG21/#contrast-minimum); `PAIRS`
names each (text, background) pair the theme declares, and the tests check them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Final

Colour = tuple[float, float, float, float]

# WCAG AA: the least contrast ratio for body text and for large text.
BODY_CONTRAST: Final = 4.5
LARGE_CONTRAST: Final = 3.0
# WCAG's large text: 18 pt, or 14 pt bold (1 pt = 4/3 CSS px).
LARGE_TEXT_PX: Final = 24.0
LARGE_BOLD_TEXT_PX: Final = 18.66

_HEX = re.compile(r"#([0-9a-fA-F]{6})")


def parse_hex(text: str) -> Colour:
    """The colour written as "#rrggbb" (ValueError for anything else)."""
    match = _HEX.fullmatch(text.strip())
    if match is None:
        raise ValueError(f"not a colour as #rrggbb: {text!r}")
    digits = match.group(1)
    red, green, blue = (int(digits[i : i + 2], 16) / 255 for i in (0, 2, 4))
    return (red, green, blue, 1.0)


def hex_of(colour: Colour) -> str:
    """`colour` written as "#rrggbb" (its alpha dropped)."""
    return "#" + "".join(f"{round(c * 255):02x}" for c in colour[:3])


def luminance(colour: Colour) -> float:
    """WCAG's relative luminance of an opaque sRGB colour (0 black .. 1 white)."""

    def linear(channel: float) -> float:
        if channel <= 0.04045:
            return channel / 12.92
        return float(((channel + 0.055) / 1.055) ** 2.4)

    red, green, blue = (linear(c) for c in colour[:3])
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


def over(top: Colour, below: Colour) -> Colour:
    """`top` drawn over the opaque `below` (its alpha blended in): the colour seen."""
    alpha = top[3]
    red, green, blue = (
        t * alpha + b * (1 - alpha) for t, b in zip(top[:3], below[:3], strict=True)
    )
    return (red, green, blue, 1.0)


def contrast(text: Colour, background: Colour) -> float:
    """WCAG's contrast ratio (1..21) of `text` drawn on the opaque `background`."""
    seen = over(text, background)
    lighter, darker = sorted((luminance(seen), luminance(background)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def least_contrast(font_px: float, bold: bool) -> float:
    """The contrast WCAG AA asks of text drawn `font_px` pixels high (bold or not)."""
    large = font_px >= LARGE_TEXT_PX or (bold and font_px >= LARGE_BOLD_TEXT_PX)
    return LARGE_CONTRAST if large else BODY_CONTRAST


def _mix(colour: Colour, towards: Colour, share: float) -> Colour:
    red, green, blue = (c + (t - c) * share for c, t in zip(colour[:3], towards[:3], strict=True))
    return (red, green, blue, 1.0)


WHITE: Final[Colour] = (1.0, 1.0, 1.0, 1.0)
INK: Final[Colour] = (0.1, 0.1, 0.12, 1.0)
BLACK: Final[Colour] = (0.0, 0.0, 0.0, 1.0)
DEFAULT_BRAND: Final = "#26599a"


@dataclass(frozen=True)
class Colours:
    """The palette: backgrounds, the texts on them, the primary (brand) and states."""

    background: Colour = (0.96, 0.96, 0.94, 1.0)  # every screen's
    surface: Colour = WHITE  # a panel on the background
    text: Colour = INK
    muted: Colour = (0.33, 0.34, 0.37, 1.0)  # hints, secondary lines
    primary: Colour = (0.149, 0.349, 0.604, 1.0)  # the main buttons (the brand colour)
    primary_down: Colour = (0.1, 0.25, 0.45, 1.0)  # ... pressed
    on_primary: Colour = WHITE
    secondary: Colour = (0.36, 0.38, 0.41, 1.0)  # back, cancel, the language button
    secondary_down: Colour = (0.27, 0.29, 0.32, 1.0)
    on_secondary: Colour = WHITE
    accent: Colour = (0.66, 0.36, 0.0, 1.0)  # the chosen row or field, a reward to take
    on_accent: Colour = WHITE
    success: Colour = (0.05, 0.42, 0.18, 1.0)  # messages' tones, on the background
    on_success: Colour = WHITE  # a switch that is on
    error: Colour = (0.72, 0.09, 0.09, 1.0)
    note: Colour = (0.13, 0.25, 0.45, 1.0)
    warning: Colour = (0.6, 0.3, 0.0, 1.0)  # points about to expire
    disabled: Colour = (0.82, 0.83, 0.85, 1.0)  # a button that cannot be pressed now
    out_of_reach: Colour = (0.86, 0.87, 0.89, 1.0)  # a reward that needs more points
    on_out_of_reach: Colour = (0.16, 0.17, 0.2, 1.0)  # ... and how many: read, not greyed
    on_disabled: Colour = (0.3, 0.31, 0.34, 1.0)  # still legible: a shopper reads why
    meter_track: Colour = (0.85, 0.85, 0.85, 1.0)  # a progress bar's empty part
    meter_tier: Colour = (0.2, 0.65, 0.35, 1.0)  # ... filled: towards the next tier
    meter_reward: Colour = (0.85, 0.55, 0.1, 1.0)  # ... filled: towards the next reward
    # The attract screen's status lights (reader, network), each beside its word: at least
    # 3:1 against the background, as WCAG asks of a graphic that carries meaning.
    status_ok: Colour = (0.13, 0.55, 0.25, 1.0)
    status_warn: Colour = (0.78, 0.44, 0.0, 1.0)
    status_fault: Colour = (0.8, 0.15, 0.15, 1.0)
    status_off: Colour = (0.45, 0.46, 0.48, 1.0)
    alarm: Colour = (0.25, 0.1, 0.1, 1.0)  # the out-of-service screen's background
    on_alarm: Colour = WHITE
    on_alarm_muted: Colour = (1.0, 0.85, 0.85, 1.0)  # its technical detail


# Each (text, background) pair the palette is meant for, by name: every one must reach
# BODY_CONTRAST (tests/ui/test_theme.py).
PAIRS: Final = (
    ("text", "background"),
    ("text", "surface"),
    ("muted", "background"),
    ("muted", "surface"),
    ("on_primary", "primary"),
    ("on_primary", "primary_down"),
    ("on_secondary", "secondary"),
    ("on_secondary", "secondary_down"),
    ("on_accent", "accent"),
    ("on_success", "success"),
    ("success", "background"),
    ("error", "background"),
    ("note", "background"),
    ("warning", "background"),
    ("on_disabled", "disabled"),
    ("on_out_of_reach", "out_of_reach"),
    ("on_alarm", "alarm"),
    ("on_alarm_muted", "alarm"),
)


# Each (graphic, background) pair: a shape that carries meaning must reach NON_TEXT_CONTRAST
# (https://www.w3.org/TR/WCAG21/#non-text-contrast).
GRAPHIC_PAIRS: Final = tuple(
    (f"status_{state}", "background") for state in ("ok", "warn", "fault", "off")
)
NON_TEXT_CONTRAST: Final = 3.0


@dataclass(frozen=True)
class TypeScale:
    """Font sizes as shares of the window's height (kv: `app.u * app.theme.type.body`)."""

    hero: float = 0.15  # "+N points", a one-time code: read from a step back
    figure: float = 0.085  # what is being typed: an amount, a phone number, a PIN
    display: float = 0.08  # the attract screen's promise, a balance
    title: float = 0.075  # a screen's title
    large: float = 0.07  # the attract screen's main button
    heading: float = 0.06
    body: float = 0.05  # labels and buttons unless said otherwise
    label: float = 0.045
    small: float = 0.04
    caption: float = 0.035  # status lines
    fine: float = 0.028  # a list's long lines: rewards, diagnostics


@dataclass(frozen=True)
class Spacing:
    """Gaps and paddings as shares of the window's height (kv: `app.u * app.theme.space.m`)."""

    xs: float = 0.012  # between keys
    s: float = 0.015  # between a column's rows
    m: float = 0.02  # between a row's items
    l: float = 0.04  # noqa: E741  a screen's padding (the scale's own name)


@dataclass(frozen=True)
class Theme:
    """The palette, type scale and spacing of the app, and the shop's logo (a PNG path)."""

    colours: Colours = Colours()
    type: TypeScale = TypeScale()
    space: Spacing = Spacing()
    logo: str = ""

    def pairs(self) -> list[tuple[str, Colour, Colour]]:
        """Every declared (text, background) pair: "text on background", and the colours."""
        return [
            (f"{text} on {back}", getattr(self.colours, text), getattr(self.colours, back))
            for text, back in PAIRS
        ]

    def graphic_pairs(self) -> list[tuple[str, Colour, Colour]]:
        """Every declared (graphic, background) pair, as `pairs`."""
        return [
            (f"{shape} on {back}", getattr(self.colours, shape), getattr(self.colours, back))
            for shape, back in GRAPHIC_PAIRS
        ]

    def status(self, state: str) -> Colour:
        """A status light's colour: "ok", "warn", "fault"; anything else is "off"."""
        name = f"status_{state}" if state in ("ok", "warn", "fault") else "status_off"
        colour: Colour = getattr(self.colours, name)
        return colour

    def tone(self, kind: str) -> Colour:
        """The colour of a message of `kind` ("error", "success", "note")."""
        colour: Colour = getattr(self.colours, kind)
        return colour


def on_colour(background: Colour) -> Colour:
    """White or dark text for `background`: white when it reaches the bar, else the higher."""
    if contrast(WHITE, background) >= BODY_CONTRAST:
        return WHITE
    return max((INK, BLACK), key=lambda text: contrast(text, background))


def brand_colours(brand: Colour, base: Colours | None = None) -> Colours:
    """`base` with the primary colours following `brand`, and text on them that is legible.

    White text on a dark brand colour, dark text on a pale one; the pressed shade moves
    away from the text (darker under white, lighter under dark), so it keeps the contrast.
    A mid-tone colour that neither reaches 4.5:1 with is darkened until white does.
    """
    primary = brand
    while contrast(WHITE, primary) < BODY_CONTRAST and contrast(on_colour(primary), primary) < (
        BODY_CONTRAST
    ):
        primary = _mix(primary, BLACK, 0.05)
    text = on_colour(primary)
    down = _mix(primary, BLACK, 0.25) if text == WHITE else _mix(primary, WHITE, 0.3)
    return replace(base or Colours(), primary=primary, primary_down=down, on_primary=text)


def theme_for(brand_colour: str = DEFAULT_BRAND, logo: str = "") -> Theme:
    """The theme of a shop: its brand colour ("#rrggbb") as primary, its logo's path."""
    return Theme(colours=brand_colours(parse_hex(brand_colour)), logo=logo)
