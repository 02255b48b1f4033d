"""Digits in three scripts: Persian (۰-۹), Arabic-Indic (٠-٩) and ASCII (0-9).

Shoppers type on Persian keyboards, phones paste Arabic-Indic digits, the ledger and the
CRM speak ASCII: every parser reads input through `to_ascii_digits`, and the UI shows
numbers through `to_persian_digits` when the language is Persian.
"""

from __future__ import annotations

ASCII_DIGITS = "0123456789"
PERSIAN_DIGITS = "".join(chr(code) for code in range(0x06F0, 0x06FA))  # ۰۱۲۳۴۵۶۷۸۹
ARABIC_INDIC_DIGITS = "".join(chr(code) for code in range(0x0660, 0x066A))  # ٠١٢٣٤٥٦٧٨٩

_TO_ASCII = str.maketrans(PERSIAN_DIGITS + ARABIC_INDIC_DIGITS, ASCII_DIGITS * 2)
# Arabic-Indic 4, 5 and 6 are drawn differently from the Persian ones, so a Persian
# screen shows every digit in the Persian form, whichever script it came in.
_TO_PERSIAN = str.maketrans(ASCII_DIGITS + ARABIC_INDIC_DIGITS, PERSIAN_DIGITS * 2)


def to_ascii_digits(text: str) -> str:
    """Return `text` with Persian and Arabic-Indic digits replaced by ASCII digits."""
    return text.translate(_TO_ASCII)


def to_persian_digits(text: str) -> str:
    """Return `text` with ASCII (and Arabic-Indic) digits replaced by Persian digits."""
    return text.translate(_TO_PERSIAN)
