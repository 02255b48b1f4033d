"""Card ids: however a reader or a person writes a card, the ledger sees one id."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kiosk.core.cards import mask_uid, normalize_uid
from kiosk.errors import InvalidCardUid
from kiosk.text.digits import to_persian_digits

HEX_ID = re.compile(r"[0-9A-F]{4,32}")


@pytest.mark.parametrize(
    ("typed", "uid"),
    [
        ("04A23B4C", "04A23B4C"),
        ("04:a2:3b:4c", "04A23B4C"),
        ("04 A2 3B 4C", "04A23B4C"),
        ("04-A2-3B-4C", "04A23B4C"),
        ("04  a2  3b  4c", "04A23B4C"),  # libnfc's nfc-list
        ("  04a23b4c\n", "04A23B4C"),
        ("04\u00a0A2\u200c3B 4C", "04A23B4C"),
        ("0x04A23B4C", "04A23B4C"),
        ("0X04a23b4c", "04A23B4C"),
        ("۰۴a2۳b۴c", "04A23B4C"),
        ("٠٤a2٣b٤c", "04A23B4C"),
        ("04:A2:3B:4C:5D:6E:7F", "04A23B4C5D6E7F"),  # ISO 14443 double-size UID
        ("01 2E 44 55 66 77 88 99", "012E445566778899"),  # FeliCa IDm
        ("1A00A3F2C4", "1A00A3F2C4"),  # EM4100
        ("ABCD", "ABCD"),
        ("F" * 32, "F" * 32),
    ],
)
def test_every_written_form_of_a_card_gives_one_id(typed, uid):
    assert normalize_uid(typed) == uid


@pytest.mark.parametrize(
    ("typed", "reason"),
    [
        ("", "empty"),
        ("  : - ", "empty"),
        ("0x", "empty"),
        ("04A23B4G", "not hexadecimal ('G' is not 0-9 or A-F)"),
        ("04,A2,3B,4C", "not hexadecimal (',' is not 0-9 or A-F)"),
        ("0x04 0xA2", "not hexadecimal ('x' is not 0-9 or A-F)"),
        ("04A2\x00", "not hexadecimal (U+0000 is not 0-9 or A-F)"),
        ("04\ufb00", "not hexadecimal ('\ufb00' is not 0-9 or A-F)"),  # "ff" ligature
        ("04A", "too short (3 digits, at least 4)"),
        ("F" * 33, "too long (33 digits, at most 32)"),
    ],
)
def test_what_is_not_a_card_id_is_refused_with_a_reason_for_the_technician(typed, reason):
    with pytest.raises(InvalidCardUid) as refused:
        normalize_uid(typed)

    assert refused.value.params["reason"] == reason
    assert str(refused.value) == f"The card id is not valid: {reason}."


def test_a_refusal_never_repeats_the_card_id():
    with pytest.raises(InvalidCardUid) as refused:
        normalize_uid("04A23B4C5D6E7F1122334455667788990011223344")

    assert "04A23B" not in str(refused.value)


@pytest.mark.parametrize(
    ("uid", "masked"),
    [
        ("04A23B4CA1B2", "****A1B2"),
        ("04A23B4C", "****3B4C"),
        ("04A23B", "****3B"),  # short ids keep at least four digits hidden
        ("ABCD", "****"),
    ],
)
def test_a_masked_card_shows_only_its_last_four_digits(uid, masked):
    assert mask_uid(uid) == masked


# --- properties --------------------------------------------------------------------------

uids = st.text(alphabet="0123456789ABCDEF", min_size=4, max_size=32)


@given(st.text())
def test_arbitrary_text_is_either_a_card_id_or_an_invalid_card_uid(text):
    try:
        uid = normalize_uid(text)
    except InvalidCardUid:
        return

    assert HEX_ID.fullmatch(uid)


@given(st.text(alphabet="0123456789abcdefABCDEFx: -۰۱۲۳۴۵۶۷۸۹", max_size=40))
def test_normalizing_twice_changes_nothing(text):
    try:
        once = normalize_uid(text)
    except InvalidCardUid:
        return

    assert normalize_uid(once) == once


@given(uids, st.sampled_from(["", " ", ":", "-"]), st.booleans(), st.booleans())
def test_separators_case_and_digit_script_do_not_change_the_id(uid, separator, lower, persian):
    pairs = [uid[i : i + 2] for i in range(0, len(uid), 2)]
    written = separator.join(pairs)
    written = written.lower() if lower else written
    written = to_persian_digits(written) if persian else written

    assert normalize_uid(written) == uid


@given(uids)
def test_a_masked_card_never_shows_more_than_four_digits(uid):
    masked = mask_uid(uid)

    assert masked.startswith("****")
    assert len(masked) - 4 <= min(4, len(uid) - 4)
    assert uid.endswith(masked[4:])
