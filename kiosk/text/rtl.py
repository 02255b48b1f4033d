"""Right-to-left text for a renderer that draws glyphs left to right (Kivy's labels).

Kivy draws a string's characters in memory order and does not join Arabic letters. So a
Persian line is shaped first (`arabic_reshaper` picks each letter's joined form) and then
put in visual order by the Unicode bidirectional algorithm (`bidi.algorithm.get_display`,
the pure-Python one, which also mirrors brackets; the newer `bidi.get_display` does not).
Kivy's own `font_direction='rtl'` reverses digit runs, so it is not used. The algorithm
works on one line: labels that show shaped text are single-line.
"""

from __future__ import annotations

import functools
import re

import arabic_reshaper
from bidi.algorithm import get_display

# Letters of right-to-left scripts (Arabic, its supplements and presentation forms, Hebrew).
_RTL = re.compile("[\u0590-\u08ff\ufb1d-\ufdff\ufe70-\ufeff]")
# Direction marks and embeddings (LRM, RLM, LRE, RLE, PDF, LRO, RLO): they order the
# line and are not drawn (the bidi algorithm drops the embeddings, not the marks).
_UNDRAWN = str.maketrans("", "", "\u200e\u200f\u202a\u202b\u202c\u202d\u202e")
_RESHAPER = arabic_reshaper.ArabicReshaper(
    configuration={"delete_harakat": False, "support_ligatures": True}
)


@functools.lru_cache(maxsize=4096)
def visual(text: str, rtl: bool) -> str:
    """The line `text` in visual (left-to-right drawing) order, letters joined.

    `rtl` is the paragraph direction: True on a Persian screen, so a line that starts
    with a Latin name or a number still reads right to left. Text with no right-to-left
    letter on a left-to-right screen is returned as it is.
    """
    if "\n" in text:
        raise ValueError("shape one line at a time: the bidi algorithm works per paragraph")
    if not rtl and not _RTL.search(text):
        return text.translate(_UNDRAWN)
    shaped = _RESHAPER.reshape(text)
    drawn = str(get_display(shaped, base_dir="R" if rtl else "L"))
    return drawn.translate(_UNDRAWN)


def has_rtl(text: str) -> bool:
    """Whether `text` has a letter of a right-to-left script."""
    return _RTL.search(text) is not None


def ltr(text: str) -> str:
    """Keep `text` left to right inside any line (phone numbers, dates typed as digits).

    Written with LRE/PDF embedding marks: the pure-Python bidi algorithm does not take
    the newer isolates (LRI/PDI). `visual` removes the marks.
    """
    return "\u202a" + text + "\u202c"
