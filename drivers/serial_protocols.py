"""Parsers for what serial card readers send: pure functions of bytes, no port, no thread.

- `Rdm6300Parser`: RDM6300 / EM4100 125 kHz readers. A frame is STX (0x02), 10 hex digits
  (2 version + 8 id), 2 hex digits of checksum (XOR of the 5 data bytes), ETX (0x03). The
  reader repeats the frame while the card is in the field. A frame with a bad checksum is
  never a card; after garbage the parser finds the next STX.
- `LineParser`: readers in "serial mode" (barcode, magnetic stripe, many RFID boards) that
  send one code per line; optional prefix/suffix stripping and a pattern for valid codes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

STX = 0x02
ETX = 0x03
FRAME_LENGTH = 14
_HEX = frozenset(b"0123456789ABCDEFabcdef")


def rdm6300_frame(uid: str) -> bytes:
    """The frame an RDM6300 sends for a 10-hex-digit card id (for simulators and tests)."""
    if len(uid) != 10:
        raise ValueError("an EM4100 id is 10 hex digits")
    data = bytes.fromhex(uid)
    checksum = 0
    for byte in data:
        checksum ^= byte
    return bytes([STX]) + uid.upper().encode() + f"{checksum:02X}".encode() + bytes([ETX])


@dataclass
class Rdm6300Parser:
    """Feed it bytes as they come; it returns the card ids of the valid frames among them."""

    rejected: int = 0  # frames that looked like frames but failed a check
    _buffer: bytearray = field(default_factory=bytearray)

    def feed(self, data: bytes) -> list[str]:
        self._buffer += data
        found: list[str] = []
        buf = self._buffer
        while True:
            start = buf.find(STX)
            if start < 0:
                buf.clear()
                break
            if start:
                del buf[:start]
            if len(buf) < FRAME_LENGTH:
                break
            frame = bytes(buf[:FRAME_LENGTH])
            uid = _check_frame(frame)
            if uid is None:
                self.rejected += 1
                del buf[:1]  # resynchronise on the next STX
                continue
            found.append(uid)
            del buf[:FRAME_LENGTH]
        return found


def _check_frame(frame: bytes) -> str | None:
    if frame[-1] != ETX or not all(byte in _HEX for byte in frame[1:13]):
        return None
    data = bytes.fromhex(frame[1:11].decode())
    checksum = 0
    for byte in data:
        checksum ^= byte
    if checksum != int(frame[11:13], 16):
        return None
    return frame[1:11].decode().upper()


@dataclass
class LineParser:
    """One code per line (CR, LF or CRLF). Lines that do not make a valid code are dropped."""

    prefix: str = ""
    suffix: str = ""
    pattern: str = r"[0-9A-Fa-f]{4,32}"
    max_length: int = 256
    rejected: int = 0
    _buffer: bytearray = field(default_factory=bytearray)
    _overlong: bool = False

    def __post_init__(self) -> None:
        self._regex = re.compile(self.pattern)

    def feed(self, data: bytes) -> list[str]:
        found: list[str] = []
        for byte in data:
            if byte in (0x0A, 0x0D):
                if self._buffer and not self._overlong:
                    code = self._code(bytes(self._buffer))
                    if code is None:
                        self.rejected += 1
                    else:
                        found.append(code)
                elif self._overlong:
                    self.rejected += 1
                self._buffer.clear()
                self._overlong = False
            elif (byte < 0x20 and byte != 0x09) or byte >= 0x7F:
                # A control or non-ASCII byte is noise (or STX/ETX framing): what came
                # before it on this line is not a code; start afresh after it.
                if self._buffer:
                    self.rejected += 1
                self._buffer.clear()
            elif len(self._buffer) >= self.max_length:
                self._overlong = True  # garbage without line ends: drop until the next one
            else:
                self._buffer.append(byte)
        return found

    def _code(self, line: bytes) -> str | None:
        try:
            text = line.decode("ascii").strip()
        except UnicodeDecodeError:
            return None
        if self.prefix and text.startswith(self.prefix):
            text = text[len(self.prefix) :]
        if self.suffix and text.endswith(self.suffix):
            text = text[: -len(self.suffix)]
        text = text.strip()
        if not text or not self._regex.fullmatch(text):
            return None
        return text.upper()
