"""The erasure journal: one line per erasure, beside the database, for a restore to redo.

A backup taken before an erasure still holds the person; `kiosk restore` must erase them
again. The live database knows who was erased, but a restore is most often needed when
that database is damaged or lost, so every erasure (the CLI's, the touch app's and those
pulled from the CRM: all go through the service the composition root builds) is also
appended here, inside its transaction and before its commit.

Each line is `{"member_id": "<uuid>", "erased_at": "<UTC time>"}`: member ids are random
UUIDs, so the journal holds no personal data (no phone, name, birthday or card id). The
file is created 0600, each line is written with one `write` on an O_APPEND descriptor and
fsynced, and the folder is synced when the file is made. A power cut in the middle of a
line leaves a torn last line, which `read_journal` skips (its erasure was not committed).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from kiosk.errors import StorageUnavailable

JOURNAL_FILENAME = "erasures.log"


def journal_path(data_dir: Path) -> Path:
    """Where the erasure journal of a data directory is."""
    return data_dir / JOURNAL_FILENAME


class FileErasureJournal:
    """The journal file of one data directory (kiosk/core/store/erasure.py `ErasureJournal`)."""

    def __init__(self, data_dir: Path) -> None:
        self.path = journal_path(data_dir)

    def record(self, member_id: str, erased_at: str) -> None:
        """Append one erasure and wait for the disk; StorageUnavailable when it cannot."""
        line = json.dumps({"member_id": member_id, "erased_at": erased_at}) + "\n"
        try:
            new = not self.path.exists()
            descriptor = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(descriptor, line.encode())
                os.fsync(descriptor)
            finally:
                os.close(descriptor)
            if new:
                folder = os.open(self.path.parent, os.O_RDONLY)
                try:
                    os.fsync(folder)
                finally:
                    os.close(folder)
        except OSError as exc:
            raise StorageUnavailable(
                reason=f"the erasure journal cannot be written: {exc.strerror or exc}"
            ) from exc


def read_journal(data_dir: Path) -> dict[str, str]:
    """Every member id in the journal -> when it was first erased ({} without a journal).

    Lines that are not a journal line (a torn last line after a power cut) are skipped.
    """
    path = journal_path(data_dir)
    try:
        text = path.read_bytes().decode("utf-8", errors="replace")
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise StorageUnavailable(
            reason=f"the erasure journal cannot be read: {exc.strerror or exc}"
        ) from exc
    erased: dict[str, str] = {}
    for line in text.splitlines():
        try:
            item = json.loads(line)
        except ValueError:
            continue
        if not isinstance(item, dict):
            continue
        member_id, at = item.get("member_id"), item.get("erased_at")
        if isinstance(member_id, str) and member_id and isinstance(at, str):
            erased.setdefault(member_id, at)
    return erased
