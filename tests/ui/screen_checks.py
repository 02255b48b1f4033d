"""Checks of what a screen shows, for any screen: glyphs the font has, alignment, shortening.

Each check looks at the labels (buttons are labels too) under a widget and returns what it
found wrong, as readable lines; an empty list means the screen passes. The whole-app tests
(test_whole_app_checks.py) run them on every screen of the tour in both languages.
"""

from __future__ import annotations

import functools
import struct
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

ELLIPSIS = "..."  # what Kivy puts where it cut a shortened line


def labels(widget: Any) -> Iterator[Any]:
    """Every visible label (buttons are labels too) under `widget`."""
    from kivy.uix.label import Label

    for child in widget.walk(restrict=True):
        if isinstance(child, Label) and child.opacity > 0 and child.get_root_window():
            yield child


# -- glyphs --------------------------------------------------------------------------------


@functools.cache
def font_characters(path: Path) -> frozenset[int]:
    """The code points that the TrueType font at `path` maps to a glyph (its Unicode cmap).

    Read from the font's own table, not from rendering: a missing character is drawn as
    the font's empty .notdef glyph, which no size or pixel check tells from a space.
    """
    data = path.read_bytes()
    (tables,) = struct.unpack_from(">H", data, 4)
    directory = {
        data[12 + 16 * i : 16 + 16 * i]: struct.unpack_from(">I", data, 20 + 16 * i)[0]
        for i in range(tables)
    }
    cmap = directory[b"cmap"]
    (subtables,) = struct.unpack_from(">H", data, cmap + 2)
    found: set[int] = set()
    for i in range(subtables):
        platform, encoding, offset = struct.unpack_from(">HHI", data, cmap + 4 + 8 * i)
        start = cmap + offset
        (kind,) = struct.unpack_from(">H", data, start)
        if (platform, encoding) in {(0, 3), (0, 4), (3, 1), (3, 10)}:
            if kind == 4:
                found |= _format4(data, start)
            elif kind == 12:
                found |= _format12(data, start)
    return frozenset(found)


def _format4(data: bytes, start: int) -> set[int]:
    # The BMP segment map: https://learn.microsoft.com/typography/opentype/spec/cmap#format-4
    (doubled,) = struct.unpack_from(">H", data, start + 6)
    count = doubled // 2
    ends = struct.unpack_from(f">{count}H", data, start + 14)
    starts = struct.unpack_from(f">{count}H", data, start + 16 + doubled)
    deltas = struct.unpack_from(f">{count}h", data, start + 16 + 2 * doubled)
    range_at = start + 16 + 3 * doubled
    ranges = struct.unpack_from(f">{count}H", data, range_at)
    found = set()
    for i in range(count):
        for char in range(starts[i], ends[i] + 1):
            if char == 0xFFFF:
                continue
            if ranges[i] == 0:
                glyph = (char + deltas[i]) & 0xFFFF
            else:
                at = range_at + 2 * i + ranges[i] + 2 * (char - starts[i])
                (glyph,) = struct.unpack_from(">H", data, at)
                glyph = (glyph + deltas[i]) & 0xFFFF if glyph else 0
            if glyph:
                found.add(char)
    return found


def _format12(data: bytes, start: int) -> set[int]:
    (groups,) = struct.unpack_from(">I", data, start + 12)
    found: set[int] = set()
    for i in range(groups):
        first, last, glyph = struct.unpack_from(">III", data, start + 16 + 12 * i)
        found.update(range(first, last + 1) if glyph else range(first + 1, last + 1))
    return found


def font_file(label: Any) -> Path:
    """The font file `label` draws with (its registered family, regular or bold)."""
    from kivy.core.text import LabelBase

    files = LabelBase._fonts.get(label.font_name)
    if files is None:  # a path, not a registered name
        return Path(label.font_name)
    return Path(files[2] if label.bold else files[0])


def missing_glyphs(widget: Any) -> list[str]:
    """Labels with a character their font has no glyph for (drawn as nothing)."""
    found = []
    for label in labels(widget):
        has = font_characters(font_file(label))
        # A line break (a two-line button's) is not drawn: no glyph needed.
        missing = sorted({char for char in label.text if char != "\n" and ord(char) not in has})
        if missing:
            codes = ", ".join(f"U+{ord(char):04X}" for char in missing)
            found.append(f"{label.text!r}: {codes} not in {font_file(label).name}")
    return found


# -- alignment -----------------------------------------------------------------------------


def alignments(widget: Any) -> dict[Any, str]:
    """Each label's horizontal alignment, by label."""
    return {label: str(label.halign) for label in labels(widget)}


def changed_alignments(before: dict[Any, str], after: dict[Any, str]) -> list[str]:
    """Labels (present both times) whose alignment is not what it was."""
    return [
        f"{label.text!r}: {was} -> {after[label]}"
        for label, was in before.items()
        if label in after and after[label] != was
    ]


# -- shortening ----------------------------------------------------------------------------


def shown_line(label: Any) -> str:
    """The line `label` draws: its text, or what is left of it after shortening."""
    label.texture_update()
    core = label._label
    return "".join(word.text for line in core._cached_lines for word in line.words)


def lost_starts(widget: Any, rtl: bool, lengthen: Callable[[Any], str] | None = None) -> list[str]:
    """Shortened labels whose drawn line does not begin with the start of their text.

    Texts are in drawing (visual) order: a Persian line (`rtl`) starts at its right-hand
    end, so shortening must keep that end and cut the left one; an English line the reverse.
    With `lengthen`, each label shows `lengthen(label)` for the check (a text too long for
    it), then its own text again: how it would shorten a long name or message.
    """
    found = []
    for label in labels(widget):
        if not label.text or not label.shorten:
            continue
        own = label.text
        if lengthen is not None:
            label.text = lengthen(label)
        try:
            shown = shown_line(label)
            if shown != label.text and not _starts_kept(label.text, shown, rtl):
                found.append(f"{label.text!r} drawn as {shown!r}")
        finally:
            label.text = own
    return found


def _starts_kept(text: str, shown: str, rtl: bool) -> bool:
    if rtl:  # the part drawn right of the last cut is the line's start
        kept = shown.rpartition(ELLIPSIS)[2]
        return bool(kept) and text.endswith(kept)
    kept = shown.partition(ELLIPSIS)[0]
    return bool(kept) and text.startswith(kept)


# -- contrast ------------------------------------------------------------------------------

Colour = tuple[float, float, float, float]


class _Painter:
    """Follows a canvas in drawing order as the GPU would: the colour set, the translation
    (a RelativeLayout, such as a Screen, pushes one in canvas.before, pops it in
    canvas.after), the fills drawn so far, and where each label's text is drawn.

    A rectangle is a fill unless it draws a label's text (`texts`: its texture's id) or
    is a stencil's mask (between StencilPush and StencilUse: it draws nothing).
    """

    def __init__(self, texts: set[int]) -> None:
        self.colour: Colour = (1.0, 1.0, 1.0, 1.0)
        self.shift = (0.0, 0.0)
        self.stack: list[tuple[float, float]] = []
        self.masking = False
        self.fills: list[tuple[tuple[float, float, float, float], Colour]] = []
        self.text_ids = texts
        self.texts: dict[int, int] = {}  # id(texture) -> how many fills were drawn before it

    def walk(self, canvas: Any) -> None:
        """Follow the instructions of `canvas` and of the canvases inside it."""
        from kivy.graphics import (
            BorderImage,
            Color,
            PopMatrix,
            PushMatrix,
            Rectangle,
            StencilPush,
            StencilUse,
            Translate,
        )
        from kivy.graphics.instructions import InstructionGroup

        for item in canvas.children:
            if isinstance(item, Color):
                self.colour = tuple(item.rgba)
            elif isinstance(item, PushMatrix):
                self.stack.append(self.shift)
            elif isinstance(item, PopMatrix):
                self.shift = self.stack.pop() if self.stack else (0.0, 0.0)
            elif isinstance(item, Translate):
                self.shift = (self.shift[0] + item.x, self.shift[1] + item.y)
            elif isinstance(item, StencilPush | StencilUse):
                self.masking = isinstance(item, StencilPush)
            elif isinstance(item, Rectangle | BorderImage) and not self.masking:
                if item.texture is not None and id(item.texture) in self.text_ids:
                    self.texts[id(item.texture)] = len(self.fills)
                else:
                    x, y = item.pos[0] + self.shift[0], item.pos[1] + self.shift[1]
                    box = (x, y, x + item.size[0], y + item.size[1])
                    self.fills.append((box, self.colour))
            elif isinstance(item, InstructionGroup):
                self.walk(item)

    def behind(self, point: tuple[float, float], fills: int, base: Colour) -> Colour:
        """The colour seen at `point` after the first `fills` fills, over `base`."""
        from kiosk.ui.theme import over

        seen = base
        for (left, bottom, right, top), colour in self.fills[:fills]:
            if left <= point[0] <= right and bottom <= point[1] <= top:
                seen = over(colour, seen)
        return seen


def text_colour(label: Any) -> Colour:
    """The colour `label` draws its text in (its disabled colour when disabled)."""
    return tuple(label.disabled_color if label.disabled else label.color)


def contrasts(widget: Any) -> list[tuple[Any, Colour, Colour, float]]:
    """Each label (buttons too) drawn under `widget` with text: (label, its text colour,
    the colour drawn behind it, their contrast ratio).

    What is behind a label is found by following the window's canvas in drawing order up
    to the label's text: every fill (a screen's background, a button's face) over the
    label's centre, blended by its alpha, over the window's clear colour.
    """
    from kivy.core.window import Window
    from kivy.uix.label import Label

    from kiosk.ui.theme import contrast

    drawn_labels = [w for root in Window.children for w in root.walk() if isinstance(w, Label)]
    painter = _Painter({id(label.texture) for label in drawn_labels if label.texture})
    painter.walk(Window.canvas)
    base: Colour = tuple(Window.clearcolor)
    found = []
    for label in labels(widget):
        drawn = painter.texts.get(id(label.texture)) if label.texture else None
        if not label.text.strip() or drawn is None:
            continue  # nothing drawn
        back = painter.behind(label.to_window(*label.center), drawn, base)
        text = text_colour(label)
        found.append((label, text, back, contrast(text, back)))
    return found


def low_contrast(widget: Any) -> list[str]:
    """Labels (buttons too) whose text colour against the colour drawn behind it is below
    WCAG AA: 4.5:1, or 3:1 for large text (kiosk/ui/theme.py least_contrast)."""
    from kiosk.ui.theme import hex_of, least_contrast

    found = []
    for label, text, back, ratio in contrasts(widget):
        bar = least_contrast(label.font_size, label.bold)
        if ratio < bar:
            found.append(
                f"{label.text!r}: {hex_of(text)} on {hex_of(back)} is {ratio:.2f}:1, below {bar}:1"
            )
    return found
