"""The sync worker: pushes the outbox to the CRM in order, with backoff that survives restarts.

At least once, exactly once in effect: a batch is sent again until the CRM's high-water
mark covers it, and the CRM deduplicates. Failures back off exponentially with full
jitter (never sooner than Retry-After); the next attempt time is stored, so a restarted
worker does not hammer a CRM that is down. 401/403 stop pushing until a technician acts;
nothing is dropped. The refusal is of one secret: a new one (`kiosk provision`, `kiosk sync
enroll`, from any process) lifts it, and the queue goes on where it was.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import os
import random
import shutil
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kiosk.appliance.diagnostics import version
from kiosk.config import CrmConfig
from kiosk.core import pulled
from kiosk.core.pulled import Here
from kiosk.core.service_base import ServiceBase
from kiosk.core.store.db import database_folder
from kiosk.core.store.outbox import Outbox, SyncState
from kiosk.core.sync_status import StopReason, SyncStatus
from kiosk.errors import SecretExposed
from sync.client import CrmClient, CrmError, decode_secret

log = logging.getLogger(__name__)
MAX_RETRY_AFTER_SECONDS = 24 * 3600.0
SECRET_FILENAME = "crm-secret"


@dataclass(frozen=True)
class PullResult:
    """What one pull did: pages applied, changes by type, and how it ended."""

    pages: int
    applied: dict[str, int]
    stopped: StopReason  # DONE, BACKOFF, ERROR, CREDENTIALS or NOT_CONFIGURED
    error: str = ""


@dataclass(frozen=True)
class DrainResult:
    """What one drain did: batches sent, entries acknowledged, and why it stopped."""

    batches: int
    acknowledged: int
    rejected: int
    stopped: StopReason  # EMPTY, LIMIT, BACKOFF, ERROR, CREDENTIALS or NOT_CONFIGURED
    error: str = ""


class SyncWorker:
    """Pushes one kiosk database's outbox to one CRM."""

    def __init__(
        self,
        service: ServiceBase,
        client: CrmClient | None,
        config: CrmConfig,
        *,
        clock: Callable[[], float] = time.time,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self.service = service
        self.client = client
        self.config = config
        self.clock = clock
        self.jitter = jitter
        self.outbox = Outbox(service.conn, service.device_id)
        self.state = SyncState(service.conn)
        # Called after every batch pushed and every page pulled (the systemd watchdog).
        self.progress: Callable[[], None] = lambda: None

    # -- when ----------------------------------------------------------------------------

    def due(self) -> bool:
        """Whether the backoff after the last failure has passed."""
        return self.clock() >= float(self.state.get("next_attempt_at", 0.0))

    # -- pushing -------------------------------------------------------------------------

    def drain(self, *, max_batches: int | None = None, ignore_backoff: bool = False) -> DrainResult:
        """Push batches until the outbox is empty, a failure backs off, or `max_batches`."""
        if self.client is None:
            return DrainResult(0, 0, 0, StopReason.NOT_CONFIGURED, "no CRM is set up")
        if self._refused():
            refused = str(self.state.get("last_error", ""))
            return DrainResult(0, 0, 0, StopReason.CREDENTIALS, refused)
        batches = acknowledged = rejected = 0
        while max_batches is None or batches < max_batches:
            if not ignore_backoff and not self.due():
                return DrainResult(batches, acknowledged, rejected, StopReason.BACKOFF)
            batch = self.outbox.next_batch(self.config.batch_size)
            if batch.empty:
                return DrainResult(batches, acknowledged, rejected, StopReason.EMPTY)
            try:
                answer = self.client.push(batch.members, batch.entries)
            except CrmError as error:
                stopped = self._failed(error)
                return DrainResult(batches, acknowledged, rejected, stopped, str(error))
            done, flagged = self.outbox.acknowledge(
                batch, answer.high_water, answer.rejected, self._success()
            )
            batches += 1
            self.progress()
            acknowledged += done
            rejected += flagged
            if flagged:
                log.warning("the CRM rejected %d entries; they are kept and flagged", flagged)
            if batch.entries and answer.high_water < batch.last_seq and not done:
                # Nothing of this batch was acknowledged (a gap at the CRM, or a partial
                # answer): back off rather than send the same batch in a tight loop.
                self._failed(
                    CrmError("the CRM acknowledged nothing of the batch", code="no_progress")
                )
                return DrainResult(batches, acknowledged, rejected, StopReason.BACKOFF)
        return DrainResult(batches, acknowledged, rejected, StopReason.LIMIT)

    # -- pulling -------------------------------------------------------------------------

    def pull(self, *, limit: int = 500, max_pages: int | None = None) -> PullResult:
        """Apply the CRM's changes since the stored cursor, page by page."""
        if self.client is None:
            return PullResult(0, {}, StopReason.NOT_CONFIGURED)
        if self._refused():
            return PullResult(0, {}, StopReason.CREDENTIALS)
        if self.clock() < float(self.state.get("pull_next_attempt_at", 0.0)):
            return PullResult(0, {}, StopReason.BACKOFF)
        here = Here(self.service.device_id, self.service.program.tiers[0].id)
        applied: Counter[str] = Counter()
        pages = 0
        while max_pages is None or pages < max_pages:
            try:
                page = self.client.changes(pulled.cursor(self.service.conn), limit)
            except CrmError as error:
                return PullResult(pages, dict(applied), self._failed(error, "pull_"), str(error))
            applied += pulled.apply_page(self.service.conn, here, page.changes, page.next_cursor)
            pages += 1
            self.progress()
            if not page.more:
                break
        now = self.clock()
        self.state.set(
            pull_attempts=0, pull_next_attempt_at=0.0, last_pull_at=_iso(now), last_contact_at=now
        )
        if applied["program"]:
            self.service.reload_program()
        return PullResult(pages, dict(applied), StopReason.DONE)

    # -- heartbeat -----------------------------------------------------------------------

    def heartbeat(self, readers: list[dict[str, str]] | None = None) -> bool:
        """Tell the CRM how this kiosk is doing; False if it could not be told."""
        if self.client is None or self._refused():
            return False
        pending, _rejected = self.outbox.depth()
        offset = self.client.clock_offset
        status = {
            "version": version(),
            "queue_depth": pending,
            "oldest_unsynced_at": self.outbox.oldest_pending_at(),
            "readers": readers or [],
            "disk_free_bytes": shutil.disk_usage(self._database_folder()).free,
            "clock_offset_ms": round(offset * 1000) if offset is not None else None,
        }
        try:
            self.client.heartbeat(status)
        except CrmError as error:
            log.warning("heartbeat failed (%s)", error.code)
            return False
        self.state.set(last_heartbeat_at=_iso(self.clock()), last_contact_at=self.clock())
        return True

    def _database_folder(self) -> Path:
        return database_folder(self.service.conn)

    def _success(self) -> dict[str, Any]:
        """The state after an answered push: no failures, the time, the clock offset."""
        now = self.clock()
        return {
            "attempts": 0,
            "next_attempt_at": 0.0,
            "last_success_at": _iso(now),
            "last_contact_at": now,
            "clock_offset": self.client.clock_offset if self.client else None,
        }

    def _failed(self, error: CrmError, prefix: str = "") -> StopReason:
        now = self.clock()
        if error.credentials:
            log.error("the CRM refused this kiosk's credentials (%s); pushing stops", error.code)
            self.state.set(
                credentials_refused=True,
                refused_secret=_fingerprint(self.client.secret if self.client else None),
                last_error=str(error),
                last_error_code=error.code,
                last_error_at=_iso(now),
            )
            return StopReason.CREDENTIALS
        attempts = int(self.state.get(f"{prefix}attempts", 0))
        ceiling = min(
            float(self.config.backoff_cap_seconds),
            float(self.config.backoff_base_seconds) * 2**attempts,
        )
        delay = self.jitter() * ceiling  # full jitter
        if error.retry_after is not None:
            # Honoured, up to a day: a CRM asking for years (or a garbled header) must not
            # park the kiosk beyond any date it can write.
            delay = max(delay, min(error.retry_after, MAX_RETRY_AFTER_SECONDS))
        log.warning("push failed (%s); next attempt in %.1f s", error.code, delay)
        self.state.set(
            **{f"{prefix}attempts": attempts + 1, f"{prefix}next_attempt_at": now + delay},
            last_error=str(error),
            last_error_code=error.code,
            last_error_at=_iso(now),
            **({"last_contact_at": now} if error.status is not None else {}),
        )
        return StopReason.BACKOFF if error.retryable else StopReason.ERROR

    def reset_credentials(self) -> None:
        """After a technician re-enrolled the kiosk: push again."""
        credentials_renewed(self.service)

    def _refused(self) -> bool:
        """Whether the CRM refused the secret this worker signs with (a new one lifts it)."""
        if not self.state.get("credentials_refused", False):
            return False
        if not self._renewed_since(self.state.get("refused_secret")):
            return True
        # Written by another process (a technician's `kiosk provision`), or the refusal
        # was written meanwhile by a worker still signing with the old secret.
        log.info("the device secret changed since the CRM refused it; pushing again")
        self.reset_credentials()
        return False

    def _renewed_since(self, refused_secret: object) -> bool:
        """Whether this worker signs with a secret other than the refused one.

        A refusal stored without its fingerprint (by an older version) counts as another
        secret: one request, refused again if nothing changed, rather than stuck for ever.
        """
        current = _fingerprint(self.client.secret if self.client else None)
        return current is not None and current != refused_secret

    # -- status --------------------------------------------------------------------------

    def status(self) -> SyncStatus:
        """Queue depth, last success, last error, next attempt: `kiosk sync status`."""
        pending, rejected = self.outbox.depth()
        state = self.state.all()
        next_at = float(state.get("next_attempt_at", 0.0))
        refused = state.get("refused_secret")  # a new secret lifts the refusal at its push
        renewed = refused is not None and self._renewed_since(refused)
        return SyncStatus(
            configured=self.client is not None,
            queue_depth=pending,
            rejected=rejected,
            oldest_unsynced_at=self.outbox.oldest_pending_at(),
            last_success_at=state.get("last_success_at"),
            last_error=state.get("last_error"),
            last_error_code=state.get("last_error_code"),
            last_error_at=state.get("last_error_at"),
            next_attempt_at=_iso(next_at) if next_at else None,
            credentials_refused=bool(state.get("credentials_refused", False)) and not renewed,
            clock_offset_seconds=state.get("clock_offset"),
            last_pull_at=state.get("last_pull_at"),
            last_heartbeat_at=state.get("last_heartbeat_at"),
            pull_cursor=int(state.get("cursor", 0)),
        )


def credentials_renewed(service: ServiceBase) -> None:
    """A new device secret was written: forget the refusal and the backoff, push at once."""
    SyncState(service.conn).set(
        credentials_refused=False,
        refused_secret=None,
        attempts=0,
        next_attempt_at=0.0,
        pull_attempts=0,
        pull_next_attempt_at=0.0,
    )


def _fingerprint(secret: bytes | None) -> str | None:
    """Which secret was refused, without keeping the secret (or anything that signs)."""
    if secret is None:
        return None
    return hashlib.sha256(b"loyalty-kiosk refused secret\0" + secret).hexdigest()[:32]


def secret_path(config: CrmConfig, data_dir: Path) -> Path:
    """Where the device secret is kept: crm.secret_file, else a file in the data directory."""
    return Path(config.secret_file) if config.secret_file else data_dir / SECRET_FILENAME


def load_secret(config: CrmConfig, data_dir: Path) -> bytes | None:
    """The device secret (from crm.device_secret for development, else the secret file)."""
    if config.device_secret:
        return decode_secret(config.device_secret.strip())
    path = secret_path(config, data_dir)
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        return None
    if mode & 0o077:
        raise SecretExposed(path=str(path), mode=f"{mode & 0o777:o}")
    return decode_secret(path.read_text(encoding="ascii").strip())


def save_secret(config: CrmConfig, data_dir: Path, secret: bytes) -> Path:
    """Write the device secret, readable by the service user only (written then renamed)."""
    path = secret_path(config, data_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".new")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="ascii") as handle:
        handle.write(base64.urlsafe_b64encode(secret).decode())
        handle.flush()
        os.fsync(handle.fileno())
    temporary.replace(path)
    return path


def build_client(config: CrmConfig, device_id: str, secret: bytes | None) -> CrmClient | None:
    """The CRM client from the config and the secret, or None when no CRM URL is set."""
    if not config.url:
        return None
    return CrmClient(
        config.url,
        device_id,
        secret,
        ca_bundle=config.ca_bundle or None,
        timeout=(min(5.0, config.timeout_seconds), float(config.timeout_seconds)),
    )


def _iso(moment: float) -> str:
    return (
        datetime.fromtimestamp(moment, UTC).replace(tzinfo=None).isoformat(timespec="seconds") + "Z"
    )
