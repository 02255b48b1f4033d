"""The serial parsers: frames found in any noise, wrong checksums never a card."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from drivers.serial_protocols import LineParser, Rdm6300Parser, rdm6300_frame

UIDS = st.binary(min_size=5, max_size=5).map(lambda b: b.hex().upper())


def feed_in_pieces(parser: Rdm6300Parser | LineParser, data: bytes, cuts: list[int]) -> list[str]:
    found: list[str] = []
    start = 0
    for cut in [*sorted({c % (len(data) + 1) for c in cuts}), len(data)]:
        found += parser.feed(data[start:cut])
        start = cut
    return found


def test_a_frame_gives_its_ten_digit_id():
    assert Rdm6300Parser().feed(rdm6300_frame("1A2B3C4D5E")) == ["1A2B3C4D5E"]


@pytest.mark.parametrize(
    ("data", "why"),
    [
        (b"\x021A2B3C4D5E00\x03", "wrong checksum"),
        (b"\x021A2B3C4D5E", "half a frame"),
        (b"\x021A2B3C4D5G51\x03", "not hex"),
        (b"\x021A2B3C4D5E51\x04", "no ETX"),
        (b"1A2B3C4D5E51", "no STX"),
    ],
)
def test_what_is_not_a_valid_frame_is_no_card(data, why):
    assert Rdm6300Parser().feed(data) == [], why


def test_a_frame_after_a_broken_one_is_found():
    good = rdm6300_frame("0011223344")
    assert Rdm6300Parser().feed(b"\x021A2B3C" + good) == ["0011223344"]


@given(st.binary(max_size=400), st.lists(st.integers(0, 400), max_size=8))
def test_random_bytes_never_raise(data, cuts):
    feed_in_pieces(Rdm6300Parser(), data, cuts)
    feed_in_pieces(LineParser(), data, cuts)


@given(UIDS, st.binary(max_size=60), st.binary(max_size=60), st.lists(st.integers(0, 200)))
def test_a_valid_frame_inside_garbage_is_found(uid, before, after, cuts):
    data = before + rdm6300_frame(uid) + after
    assert uid in feed_in_pieces(Rdm6300Parser(), data, cuts)


@given(UIDS, st.integers(1, 255))
def test_a_wrong_checksum_is_never_a_card(uid, flip):
    frame = bytearray(rdm6300_frame(uid))
    checksum = int(frame[11:13], 16) ^ flip
    frame[11:13] = f"{checksum:02X}".encode()
    assert Rdm6300Parser().feed(bytes(frame)) == []


@given(st.binary(max_size=300))
def test_random_bytes_only_ever_give_checksummed_ids(data):
    for uid in Rdm6300Parser().feed(data):
        assert rdm6300_frame(uid) in data


@pytest.mark.parametrize(
    ("options", "data", "codes"),
    [
        ({}, b"1A2B3C4D\r\n", ["1A2B3C4D"]),
        ({}, b"1a2b3c4d\n0011\r", ["1A2B3C4D", "0011"]),
        ({}, b"  1A2B3C4D  \r\n", ["1A2B3C4D"]),
        ({}, b"1A2B3C4D", []),  # no line end yet
        ({}, b"hello\r\n", []),  # not a code
        ({}, b"\x00\xff noise\x021A2B3C4D\r\n", ["1A2B3C4D"]),  # noise, then framing
        ({"prefix": "ID:", "suffix": ";"}, b"ID:1A2B3C4D;\r\n", ["1A2B3C4D"]),
        ({"pattern": r"[0-9]{10}"}, b"0012345678\r\n12345\r\n", ["0012345678"]),
        ({"max_length": 8}, b"123456789ABC\r\n1234\r\n", ["1234"]),
    ],
)
def test_line_reader_codes(options, data, codes):
    assert LineParser(**options).feed(data) == codes


@given(
    st.from_regex(r"[0-9A-F]{4,32}", fullmatch=True),
    st.binary(max_size=80).filter(lambda b: b"\n" not in b and b"\r" not in b),
    st.lists(st.integers(0, 200)),
)
def test_a_line_after_a_noisy_line_is_found(code, noise, cuts):
    data = noise + b"\r\n" + code.encode() + b"\r\n"
    assert feed_in_pieces(LineParser(), data, cuts)[-1:] == [code]
