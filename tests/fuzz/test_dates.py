"""Dates (birthdays) as people type them: a date or refused."""

from __future__ import annotations

from datetime import date

from hypothesis import given
from hypothesis import strategies as st

from kiosk.errors import InvalidDate
from kiosk.text.dates import parse_date_input
from tests.fuzz.defects import FUZZ, attempt, tried
from tests.fuzz.typed_text import typed

DATE_TEXTS = st.one_of(
    typed(st.sampled_from(["-", "/", ".", "1370", "2026", "13", "31", "0", "00"])),
    st.dates().map(lambda d: f"{d.year:04d}-{d.month:02d}-{d.day:02d}"),
    st.tuples(st.integers(0, 99999), st.integers(0, 99), st.integers(0, 99)).map(
        lambda t: f"{t[0]:04d}{'-/.'[t[1] % 3]}{t[1]}-{t[2]}"
    ),
    st.text(max_size=20),
)


@FUZZ
@given(text=DATE_TEXTS)
def test_typed_dates_are_dates_or_refused(text: str) -> None:
    tried("date.parse")
    out = attempt(lambda: parse_date_input(text), (InvalidDate,))
    if out.kind == "ok":
        assert isinstance(out.value, date)
