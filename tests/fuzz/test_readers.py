"""Card readers: serial bytes give only valid ids, and reader URLs build a reader or are
refused with a ReaderUrlError."""

from __future__ import annotations

import re
from collections import Counter

import pytest
from hypothesis import given
from hypothesis import strategies as st

from drivers.factory import ReaderUrlError, build_reader
from drivers.serial_protocols import LineParser, Rdm6300Parser, rdm6300_frame
from tests.fuzz.defects import FUZZ, attempt, defect_test, tried
from tests.fuzz.typed_text import HEX

EM4100_IDS = st.binary(min_size=5, max_size=5).map(lambda b: b.hex().upper())


def feed_in_pieces(parser: Rdm6300Parser | LineParser, data: bytes, cuts: list[int]) -> list[str]:
    found: list[str] = []
    start = 0
    for cut in [*sorted({c % (len(data) + 1) for c in cuts}), len(data)]:
        found += parser.feed(data[start:cut])
        start = cut
    return found


@st.composite
def reader_streams(draw: st.DrawFn) -> tuple[bytes, list[str]]:
    """Bytes from an RDM6300 in a noisy world, and the ids of the intact frames in it."""
    parts: list[bytes] = []
    intact: list[str] = []
    for _ in range(draw(st.integers(0, 8))):
        kind = draw(st.sampled_from(["frame", "noise", "broken", "stx", "half"]))
        if kind == "frame":
            uid = draw(EM4100_IDS)
            parts.append(rdm6300_frame(uid))
            intact.append(uid)
        elif kind == "noise":
            parts.append(draw(st.binary(max_size=40)))
        elif kind == "broken":
            frame = bytearray(rdm6300_frame(draw(EM4100_IDS)))
            frame[draw(st.integers(0, 13))] ^= draw(st.integers(1, 255))
            parts.append(bytes(frame))
        elif kind == "stx":
            parts.append(draw(st.sampled_from([b"\x02", b"\x03", b"\x02\x03", b"\x02" * 14])))
        else:
            parts.append(rdm6300_frame(draw(EM4100_IDS))[: draw(st.integers(1, 13))])
    return b"".join(parts), intact


@FUZZ
@given(stream=reader_streams(), noise=st.binary(max_size=200), cuts=st.lists(st.integers(0, 600)))
def test_rdm6300_bytes_give_only_checksummed_ids(
    stream: tuple[bytes, list[str]], noise: bytes, cuts: list[int]
) -> None:
    tried("serial.rdm6300")
    data, intact = stream
    data = noise + data  # noise in front never hides a frame
    parser = Rdm6300Parser()
    found = feed_in_pieces(parser, data, cuts)
    for uid in found:
        assert re.fullmatch(r"[0-9A-F]{10}", uid), uid
        # Hex digits in either case are the same value: a bit flip from 'A' to 'a' leaves
        # the id and its checksum intact (found by this test's own fuzzing).
        assert rdm6300_frame(uid).upper() in data.upper(), f"{uid} never sent checksummed"
    assert not Counter(intact) - Counter(found), "an intact frame was not found"
    assert parser.rejected >= 0


@st.composite
def line_streams(draw: st.DrawFn, prefix: str, suffix: str) -> tuple[bytes, list[str]]:
    """Bytes from a one-code-per-line reader, and the codes of the clean lines in it."""
    parts: list[bytes] = []
    clean: list[str] = []
    for _ in range(draw(st.integers(0, 8))):
        kind = draw(st.sampled_from(["line", "noise", "long", "control"]))
        if kind == "line":
            code = draw(st.text(alphabet=HEX, min_size=4, max_size=32))
            end = draw(st.sampled_from([b"\r", b"\n", b"\r\n"]))
            parts.append(b"\n" + f"{prefix}{code}{suffix}".encode() + end)
            clean.append(code.upper())
        elif kind == "noise":
            parts.append(draw(st.binary(max_size=40)))
        elif kind == "long":
            parts.append(b"A" * draw(st.integers(200, 400)))
        else:
            parts.append(
                draw(st.sampled_from([b"\x00", b"\x02", b"\x03", b"\xff", b"\t", b"\x1b"]))
            )
    return b"".join(parts), clean


@FUZZ
@given(
    affixes=st.sampled_from([("", ""), ("ID:", ""), ("", ";"), ("%", "?")]),
    data=st.data(),
    cuts=st.lists(st.integers(0, 900)),
)
def test_line_reader_bytes_give_only_valid_codes(
    affixes: tuple[str, str], data: st.DataObject, cuts: list[int]
) -> None:
    tried("serial.line")
    prefix, suffix = affixes
    stream, clean = data.draw(line_streams(prefix, suffix))
    parser = LineParser(prefix=prefix, suffix=suffix)
    found = feed_in_pieces(parser, stream, cuts)
    for code in found:
        assert re.fullmatch(r"[0-9A-F]{4,32}", code), code
        assert code.encode() in stream.upper(), f"{code} was never sent"
    assert not Counter(clean) - Counter(found), "a clean line was not read"


READER_URLS = st.one_of(
    st.builds(
        lambda scheme, rest, query: f"{scheme}{rest}{query}",
        st.sampled_from(["serial:", "evdev:", "sim:", "nfc:", "usb:", "", "serial"]),
        st.sampled_from(["", "/dev/ttyUSB0", "loop://", "/dev/input/event3", "?", "/x?y"]),
        st.lists(
            st.tuples(
                st.sampled_from(
                    ["protocol", "baud", "removal_ms", "prefix", "suffix", "pattern", "x"]
                ),
                st.one_of(
                    st.sampled_from(["line", "rdm6300", "9600", "-1", "[", "(", "٣", "1e9"]),
                    st.text(max_size=8),
                ),
            ),
            max_size=4,
        ).map(lambda pairs: ("?" + "&".join(f"{k}={v}" for k, v in pairs)) if pairs else ""),
    ),
    st.text(max_size=30),
)


@FUZZ
@given(url=READER_URLS)
def test_reader_urls_build_a_reader_or_are_refused(url: str) -> None:
    """A reader is only built here (nothing is opened before `start`)."""
    tried("reader_url.build")
    out = attempt(lambda: build_reader(url), (ReaderUrlError,))
    if out.kind == "ok":
        assert out.value is not None


# -- defects found here, each shown by one input (KNOWN_DEFECTS in defects.py) ------------
#
# Each test states what should happen; while its defect is open it fails as the reason says.


@defect_test("reader_url_pattern")
def test_defect_reader_url_with_a_bad_pattern() -> None:
    with pytest.raises(ReaderUrlError):
        build_reader("evdev:/dev/input/event3?pattern=[")
