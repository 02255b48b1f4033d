"""The text of the SMS that carries a code, in the member's language (Persian first)."""

from __future__ import annotations

from hub.verification.secrets import CODE_DIGITS

VALID_MINUTES = 5

_TEXTS = {
    "fa": "کد تأیید باشگاه مشتریان: {code}\n"
    "این کد {minutes} دقیقه اعتبار دارد؛ آن را به کسی ندهید.",
    "en": "Customer club verification code: {code}\n"
    "Valid for {minutes} minutes; do not give it to anyone.",
}


def code_text(code: str, language: str) -> str:
    """The SMS for `code` in `language` ("fa" unless "en")."""
    assert len(code) == CODE_DIGITS and code.isdigit()
    # The code in ASCII digits in both: phones offer to fill in a code of ASCII digits.
    return _TEXTS.get(language, _TEXTS["fa"]).format(code=code, minutes=VALID_MINUTES)
