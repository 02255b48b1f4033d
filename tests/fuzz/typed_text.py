"""Text as people type it: digits of several scripts, marks, spaces, control characters."""

from __future__ import annotations

from hypothesis import strategies as st

ASCII_DIGITS = "0123456789"
PERSIAN_DIGITS = "۰۱۲۳۴۵۶۷۸۹"
ARABIC_DIGITS = "٠١٢٣٤٥٦٧٨٩"
OTHER_DIGITS = "०१२३४५६७८९０１２３４５６７８９𝟎𝟏²³¹"  # Devanagari, full width, maths, superscripts
MARKS = "\u200b\u200c\u200d\u200e\u200f\u061c\ufeff\u202a\u202b\u202c\u202d\u202e\u2066\u2069"
SPACES = " \t\n\r\u00a0\u2009\u202f\u3000\u2028"
CONTROL = "".join(map(chr, range(32))) + "\x7f\x85"
PUNCTUATION = "+-()[]./,'\u2212\u2013\u2010\ufe63\uff0d\u066b\u066c\u060c\u2019:#*"


def digit_runs(
    scripts: str = ASCII_DIGITS + PERSIAN_DIGITS + ARABIC_DIGITS,
) -> st.SearchStrategy[str]:
    return st.text(alphabet=scripts, min_size=1, max_size=14)


def typed(*extra: st.SearchStrategy[str], max_pieces: int = 10) -> st.SearchStrategy[str]:
    """Text built from pieces people (and keyboards, and copy-paste) put together."""
    piece = st.one_of(
        digit_runs(),
        st.sampled_from(list(MARKS + SPACES + PUNCTUATION)),
        st.sampled_from(list(CONTROL + OTHER_DIGITS)),
        st.text(max_size=3),
        *extra,
    )
    return st.lists(piece, max_size=max_pieces).map("".join)


LONG = st.builds(
    lambda unit, times: unit * times,
    st.text(alphabet=ASCII_DIGITS + PERSIAN_DIGITS + " -", min_size=1, max_size=4),
    st.integers(50, 20_000),
)

IRANIAN_OPERATORS = ["901", "912", "919", "921", "930", "935", "939", "990", "998", "999"]


@st.composite
def written_phones(draw: st.DrawFn) -> str:
    """A real mobile number written as people do, now and then with a digit too many or few."""
    prefix = draw(st.sampled_from(["0", "+98", "0098", "98", "", "+98 (0)", "+", "00"]))
    digits = draw(st.sampled_from(IRANIAN_OPERATORS)) + draw(
        st.text(alphabet=ASCII_DIGITS, min_size=7, max_size=7)
    )
    change = draw(st.sampled_from(["none", "none", "drop", "add"]))
    if change == "drop":
        digits = digits[:-1]
    elif change == "add":
        digits += draw(st.sampled_from(ASCII_DIGITS))
    out = []
    for char in prefix + digits:
        script = draw(st.sampled_from([ASCII_DIGITS, PERSIAN_DIGITS, ARABIC_DIGITS]))
        out.append(script[int(char)] if char.isdigit() else char)
        if draw(st.integers(0, 5)) == 0:
            out.append(draw(st.sampled_from(list(MARKS + SPACES + "-.()"))))
    return "".join(out)


PHONE_TEXTS = st.one_of(written_phones(), typed(), st.text(max_size=40), LONG)

HEX = "0123456789ABCDEFabcdef"
