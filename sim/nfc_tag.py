"""A simulated NFC field with an ISO 14443-A Type 2 tag, for nfcpy's own `udp:` device.

nfcpy's `udp:HOST:PORT` device sends each frame as a datagram `b"<bitrate> <hex>"` and
reads the answer in the same form. `SimulatedNfcField` answers as a tag would: SENS_REQ,
anticollision and SELECT (4- or 7-byte UIDs, with the cascade tag), READ of 16 bytes.
With no card in the field it answers sense requests at once with an empty frame, which
nfcpy takes as a transmission error and moves on, so that tests do not wait out nfcpy's
one-second timeouts. So the real nfcpy and our real driver run in tests.

Controls: `present(uid)`, `remove()`, `send_garbage()` (the next answer is a corrupt
frame), `unplug()` (every answer is undecodable, as from a reader that has gone wrong),
`replug()`, `close()`.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
from functools import reduce
from operator import xor

log = logging.getLogger(__name__)

SENS_REQ = bytes.fromhex("26")
ALL_REQ = bytes.fromhex("52")
SENS_RES = bytes.fromhex("4400")
SAK_COMPLETE = bytes.fromhex("00")  # a Type 2 tag, UID complete
SAK_MORE = bytes.fromhex("04")  # UID not complete: next cascade level
CASCADE_TAG = 0x88


def _bcc(data: bytes | bytearray) -> int:
    return reduce(xor, data, 0)


class SimulatedNfcField:
    """A UDP peer on 127.0.0.1 playing the RF field and at most one tag in it."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._socket.bind((host, port))
        self._socket.settimeout(0.1)
        self.host, self.port = self._socket.getsockname()
        self._lock = threading.Lock()
        self._polled = threading.Event()
        self._uid: bytes | None = None
        self._garbage = False
        self._unplugged = False
        self._frozen = False
        self._closed = False
        self.requests = 0
        self._thread = threading.Thread(target=self._serve, name="sim-nfc-field", daemon=True)
        self._thread.start()

    @property
    def device_path(self) -> str:
        """The nfcpy device path that reaches this field."""
        return f"udp:{self.host}:{self.port}"

    # -- controls ------------------------------------------------------------------------

    def present(self, uid: str) -> None:
        """Put a tag with this UID (4 or 7 bytes of hex) in the field."""
        raw = bytes.fromhex(uid)
        if len(raw) not in (4, 7):
            raise ValueError("a simulated ISO 14443-A UID is 4 or 7 bytes")
        if raw[0] in (0x04, CASCADE_TAG):
            raise ValueError("UIDs starting 04 (NXP) or 88 (cascade tag) are not simulated")
        with self._lock:
            self._uid = raw

    def remove(self) -> None:
        with self._lock:
            self._uid = None

    def send_garbage(self) -> None:
        """The next answer is a corrupt frame (noise on the air)."""
        with self._lock:
            self._garbage = True

    def unplug(self) -> None:
        """The reader goes wrong: every answer from now on cannot be decoded."""
        with self._lock:
            self._unplugged = True

    def replug(self) -> None:
        with self._lock:
            self._unplugged = False
            self._frozen = False

    def freeze(self) -> None:
        """The reader wedges: nothing is answered at all (until `replug()`)."""
        with self._lock:
            self._frozen = True

    def wait_polled(self, timeout: float = 10.0) -> bool:
        """True once the driver has polled the field since the last call."""
        polled = self._polled.wait(timeout)
        self._polled.clear()
        return polled

    def close(self) -> None:
        self._closed = True
        self._thread.join(5)
        self._socket.close()

    def __enter__(self) -> SimulatedNfcField:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the tag ---------------------------------------------------------------------------

    def _serve(self) -> None:
        while not self._closed:
            try:
                datagram, peer = self._socket.recvfrom(1024)
            except TimeoutError:
                continue
            except OSError:
                return
            reply = self._answer(datagram)
            if reply is not None:
                with contextlib.suppress(OSError):
                    self._socket.sendto(reply, peer)

    def _answer(self, datagram: bytes) -> bytes | None:
        parts = datagram.split()
        if len(parts) != 2 or datagram.startswith(b"RFOFF"):
            return None
        brty, payload = parts[0], bytes.fromhex(parts[1].decode("ascii"))
        with self._lock:
            self.requests += 1
            self._polled.set()
            if self._frozen:
                return None
            if self._unplugged:
                return brty + b" zz"  # undecodable: nfcpy raises out of its loop
            if self._garbage:
                self._garbage = False
                return b"\x00\xa5\xff\x13"  # one token: nfcpy takes it as a bad frame
            uid = self._uid
        if brty != b"106A" or uid is None:
            # No tag of that kind: answer at once with an empty frame so that nfcpy's
            # sense moves on instead of waiting a second. Other commands: silence.
            is_sense = payload in (SENS_REQ, ALL_REQ) or brty != b"106A"
            return brty if is_sense else None
        answer = self._tag(payload, uid)
        return None if answer is None else brty + b" " + answer.hex().encode()

    def _tag(self, cmd: bytes, uid: bytes) -> bytes | None:
        levels = [uid] if len(uid) == 4 else [bytes([CASCADE_TAG]) + uid[:3], uid[3:]]
        if cmd in (SENS_REQ, ALL_REQ):
            return SENS_RES if len(uid) == 4 else bytes.fromhex("4400")
        for level, sel in zip(levels, (0x93, 0x95), strict=False):
            part = level + bytes([_bcc(level)])
            if cmd == bytes([sel, 0x20]):
                return part
            if cmd == bytes([sel, 0x70]) + part:
                return SAK_COMPLETE if level is levels[-1] else SAK_MORE
        if len(cmd) == 2 and cmd[0] == 0x30:  # READ: 4 pages from cmd[1]
            return self._memory(uid, cmd[1])
        if cmd[:1] == b"\x50":  # HLTA
            return None
        log.debug("simulated tag: no answer to %s", cmd.hex())
        return None

    @staticmethod
    def _memory(uid: bytes, page: int) -> bytes:
        # Pages 0-2: UID and check bytes as a Type 2 tag has them; page 3: an empty
        # capability container (no NDEF); the rest zero.
        memory = bytearray(64)
        memory[0 : len(uid[:3])] = uid[:3]
        memory[3] = _bcc(bytes([CASCADE_TAG]) + uid[:3])
        memory[4:8] = uid[3:7].ljust(4, b"\x00")
        memory[8] = _bcc(memory[4:8])
        start = (page * 4) % len(memory)
        return bytes((memory + memory)[start : start + 16])
