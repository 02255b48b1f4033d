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
        missing = sorted({char for char in label.text if ord(char) not in has})
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
