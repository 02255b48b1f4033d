"""What a technician checks first: storage, database, queue to the CRM, version."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from kiosk.core.service_base import ServiceBase
from kiosk.core.store.db import database_path
from kiosk.core.store.outbox import Outbox, SyncState
from kiosk.core.store.requeue import LAST_REWIND
from kiosk.core.store.settings import storage_writable


@dataclass(frozen=True)
class Diagnostics:
    """A snapshot of the kiosk's health (readers and sync are added by the app)."""

    version: str
    device_id: str
    disk_free_bytes: int
    disk_total_bytes: int
    database_bytes: int
    database_writable: bool
    outbox_pending: int
    outbox_rejected: int
    members: int
    entries: int
    credentials_refused: bool = False
    last_sync_error: str | None = None
    # The last time the CRM was found restored to an earlier point (sync/rewind.py).
    last_rewind: dict[str, Any] | None = None


def version() -> str:
    """The installed version of the kiosk software."""
    try:
        return metadata.version("loyalty-kiosk")
    except metadata.PackageNotFoundError:
        return "unknown"


def collect(service: ServiceBase, data_dir: Path) -> Diagnostics:
    """Gather the diagnostics from the database and the data directory's disk."""
    usage = shutil.disk_usage(data_dir)
    db_file = database_path(data_dir)
    size = sum(
        path.stat().st_size
        for path in (db_file, db_file.with_name(db_file.name + "-wal"))
        if path.exists()
    )
    pending, rejected = Outbox(service.conn, service.device_id).depth()
    members = service.members.count()
    entries = service.history.size()
    state = SyncState(service.conn)
    return Diagnostics(
        version=version(),
        device_id=service.device_id,
        disk_free_bytes=usage.free,
        disk_total_bytes=usage.total,
        database_bytes=size,
        database_writable=storage_writable(service.conn),
        outbox_pending=int(pending),
        outbox_rejected=int(rejected),
        members=int(members),
        entries=int(entries),
        credentials_refused=bool(state.get("credentials_refused", False)),
        last_sync_error=state.get("last_error_code"),
        last_rewind=rewind if isinstance(rewind := state.get(LAST_REWIND), dict) else None,
    )
