"""Text said to the panel's people in both of the chain's languages, Persian first.

A message is made where the reason is known (a form field's check, a health rule) and
shown in the reader's language by the page: `Text.pick(language)`. The services stay free
of the request and of gettext catalogs, and their tests read both languages.
"""

from __future__ import annotations

from typing import NamedTuple

# Persian (U+06F0..) and Arabic-Indic (U+0660..) digits as typed on Iranian keyboards,
# and the separators people put in amounts: the Persian thousands mark, commas, spaces.
_DIGITS = str.maketrans("۰۱۲۳۴۵۶۷۸۹٠١٢٣٤٥٦٧٨٩", "01234567890123456789")
_SEPARATORS = str.maketrans("", "", "٬,، _\u200c")
_PERSIAN = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")


class Text(NamedTuple):
    """One message in Persian and in English."""

    fa: str
    en: str

    def pick(self, language: str) -> str:
        """The message in `language` ("fa", else English)."""
        return self.fa if language.startswith("fa") else self.en

    def __str__(self) -> str:
        """The message in the language of the page being made (a template's `{{ text }}`)."""
        from django.utils import translation  # only where Django runs: the rest is pure

        return self.pick(translation.get_language() or "fa")


def ascii_digits(text: str) -> str:
    """`text` with Persian and Arabic-Indic digits as ASCII ones, separators dropped."""
    return text.translate(_DIGITS).translate(_SEPARATORS).strip()


def persian_digits(value: object) -> str:
    """`value` as text with Persian digits (for messages made here, in Persian)."""
    return str(value).translate(_PERSIAN)


def grouped(number: int, language: str) -> str:
    """A whole number with thousands grouped: 1,250,000 or ۱٬۲۵۰٬۰۰۰."""
    text = f"{number:,}"
    return persian_digits(text.replace(",", "٬")) if language.startswith("fa") else text


class Problem(Exception):
    """Why an owner's operation was refused, said in both languages (nothing was changed)."""

    def __init__(self, said: Text) -> None:
        super().__init__(said.en)
        self.said = said
