"""A file of personal data, readable by its owner only from its first byte.

`open()` then `chmod` leaves a moment (and, after a crash, for good) when a file of
members is readable by every user of the Pi; and opening an existing file keeps its old
mode (0644 stays 0644). So the data goes into a new file created with mode 0600 beside the
target (same directory, same file system), which replaces the target only once complete:
a failed export leaves the old file as it was, and never a half-written one.

The shell makes the file of `kiosk member export > members.csv` before the kiosk runs,
with the umask's mode (0644 as a rule): `readable_by_others` tells a caller so, to refuse.
"""

from __future__ import annotations

import contextlib
import io
import os
import secrets
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

MODE = 0o600


@contextlib.contextmanager
def private_file(path: Path) -> Iterator[TextIO]:
    """Write `path` (UTF-8 text, no newline translation) as a 0600 file, atomically."""
    partial = path.with_name(f".{path.name}.{secrets.token_hex(4)}.partial")
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, MODE)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8", newline="") as out:
            yield out
            out.flush()
            os.fsync(out.fileno())
        partial.replace(path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            partial.unlink()
        raise


def readable_by_others(stream: TextIO) -> bool:
    """Whether `stream` is a file (not a terminal or a pipe) others may read."""
    try:
        status = os.fstat(stream.fileno())
    except (OSError, ValueError, io.UnsupportedOperation):  # no descriptor: not a file
        return False
    return stat.S_ISREG(status.st_mode) and bool(status.st_mode & 0o077)
