"""Card ids: one spelling for every reader, typed entry and printout, and a mask for logs.

Readers and tools print the same card as "04:a2:3b:4c", "04 A2 3B 4C" or "0x04A23B4C";
a technician may type it on a Persian keyboard. The ledger keys cards by one form:
upper-case hexadecimal without separators. Lengths in use: EM4100 125 kHz ids are 10 hex
digits, ISO 14443 UIDs 8, 14 or 20 (4, 7 or 10 bytes), FeliCa IDm 16; 4 to 32 are allowed.
"""

from __future__ import annotations

import re

from kiosk.errors import InvalidCardUid
from kiosk.text.digits import to_ascii_digits

MIN_DIGITS = 4
MAX_DIGITS = 32
_PLAIN = re.compile(f"[0-9A-Fa-f]{{{MIN_DIGITS},{MAX_DIGITS}}}")
_HEX = frozenset("0123456789ABCDEFabcdef")
# Every Unicode space is dropped too (str.isspace), NBSP included.
_SEPARATORS = frozenset(
    ":-\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe63\uff0d"
    "\u200b\u200c\u200d\u200e\u200f\u061c\ufeff\u2066\u2067\u2068\u2069"
)


def normalize_uid(text: str) -> str:
    """Return the card id in `text` as upper-case hex ("04A23B4C"), or raise InvalidCardUid."""
    if _PLAIN.fullmatch(text):  # what readers send: nothing to clean
        return text.upper()
    uid = "".join(
        char for char in to_ascii_digits(text) if not char.isspace() and char not in _SEPARATORS
    )
    # One leading "0x", as hex dumps and programmers write it; "x" is never a hex digit,
    # so dropping it cannot change the meaning of an id.
    if uid[:2] in ("0x", "0X"):
        uid = uid[2:]
    if not uid:
        raise InvalidCardUid(reason="empty")
    # Checked before upper-casing: str.upper() turns some non-ASCII letters into ASCII
    # ones ("\ufb00", the ff ligature, becomes "FF").
    stray = next((char for char in uid if char not in _HEX), None)
    if stray is not None:
        shown = repr(stray) if stray.isprintable() else f"U+{ord(stray):04X}"
        raise InvalidCardUid(reason=f"not hexadecimal ({shown} is not 0-9 or A-F)")
    uid = uid.upper()
    if len(uid) < MIN_DIGITS:
        raise InvalidCardUid(reason=f"too short ({len(uid)} digits, at least {MIN_DIGITS})")
    if len(uid) > MAX_DIGITS:
        raise InvalidCardUid(reason=f"too long ({len(uid)} digits, at most {MAX_DIGITS})")
    return uid


def mask_uid(uid: str) -> str:
    """Return the card id for logs: "****" and its last 4 digits ("****A1B2")."""
    # Short ids keep fewer digits, so that at least 4 stay hidden.
    shown = max(0, min(4, len(uid) - 4))
    return "****" + uid[len(uid) - shown :]
