"""How many SMS parts a text takes, and what it costs.

GSM 03.38's 7-bit alphabet fits 160 characters in one part, 153 a part once split (the
user-data header takes the rest); anything outside it (Persian) goes as UCS-2: 70 in one
part, 67 a part once split. The extension table's characters (`{ } [ ] ~ \\ | ^ €` and form
feed) take two septets each. UCS-2 counts UTF-16 code units, so an emoji takes two.
"""

from __future__ import annotations

from dataclasses import dataclass

_GSM_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM_EXTENSION = frozenset("\f^{}\\[~]|€")


@dataclass(frozen=True)
class Size:
    """A text's encoding, length in its units and parts."""

    encoding: str  # "gsm" or "ucs2"
    units: int
    parts: int


def measure(text: str) -> Size:
    """The encoding and number of parts `text` takes."""
    septets = 0
    for char in text:
        if char in _GSM_BASIC:
            septets += 1
        elif char in _GSM_EXTENSION:
            septets += 2
        else:
            units = len(text.encode("utf-16-le")) // 2
            return Size("ucs2", units, _parts(units, 70, 67))
    return Size("gsm", septets, _parts(septets, 160, 153))


def _parts(units: int, single: int, each: int) -> int:
    if units <= single:
        return 1
    return -(-units // each)


def cost(size: Size, *, price_ucs2: int, price_gsm: int) -> int:
    """The price in Rial of a text of `size` at the policy's price a part."""
    return size.parts * (price_ucs2 if size.encoding == "ucs2" else price_gsm)
