"""The sync worker: pushes the outbox to the CRM in order, with backoff that survives restarts.

At least once, exactly once in effect: a batch is sent again until the CRM's high-water
mark covers it, and the CRM deduplicates. Failures back off exponentially with full
jitter (never sooner than Retry-After); the next attempt time is stored, so a restarted
worker does not hammer a CRM that is down. A Retry-After holds every request of this
device (push, pull, heartbeat, and `kiosk sync --once`) until it has passed. 401/403 stop
pushing until a technician acts; nothing is dropped. The refusal is of one secret: a new
one (`kiosk provision`, `kiosk sync enroll`, from any process) lifts it, and the queue goes
on where it was. A refused time (`signature_expired`) is no refusal of the secret: the
answer's Date gives the clock offset, kept in the database, and the next request (of this
process or the next) is signed with it.
"""

from __future__ import annotations

import logging
import random
import shutil
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from kiosk.appliance.diagnostics import version
from kiosk.config import CrmConfig
from kiosk.core import pulled
from kiosk.core.clock import iso_seconds
from kiosk.core.pulled import Here
from kiosk.core.service_base import ServiceBase
from kiosk.core.social import CHAIN_MEMBERS, chain_count_of
from kiosk.core.store.db import database_folder
from kiosk.core.store.outbox import Outbox, SyncState
from kiosk.core.store.requeue import LAST_REWIND, Requeued, acknowledged_here
from kiosk.core.sync_status import StopReason, SyncStatus
from sync.client import CrmClient, CrmError
from sync.feed_epoch import LAST_FEED_RESET, reset_if_renumbered, reset_shown
from sync.feedback import push_feedback
from sync.provisioned import keep_owner_key, owner_key
from sync.rewind import high_water_of, rewind_if_behind
from sync.secret import SECRET_FILENAME, fingerprint, load_secret, save_secret, secret_path

# Where the composition root, the CLI and provisioning have always found them.
__all__ = [
    "SECRET_FILENAME",
    "DrainResult",
    "PullResult",
    "SyncWorker",
    "build_client",
    "credentials_renewed",
    "load_secret",
    "save_secret",
    "secret_path",
]

log = logging.getLogger(__name__)
MAX_RETRY_AFTER_SECONDS = 24 * 3600.0


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
        # What the last heartbeat found the CRM had lost and owed it again (sync/rewind.py).
        self.rewound: Requeued | None = None
        if client is not None and client.clock_offset is None:
            # Measured by an earlier process (or cycle): the first request is signed right.
            stored = self.state.get("clock_offset")
            if type(stored) in (int, float):
                client.clock_offset = float(stored)

    # -- when ----------------------------------------------------------------------------

    def due(self) -> bool:
        """Whether the backoff after the last failure (and any Retry-After) has passed."""
        moment = max(float(self.state.get("next_attempt_at", 0.0)), self._hold_until())
        return self.clock() >= moment

    def _hold_until(self) -> float:
        """Until when the CRM's last Retry-After holds every request of this device."""
        return float(self.state.get("hold_until", 0.0))

    def _held(self) -> str | None:
        """Why no request may go now (a Retry-After still running), or None."""
        until = self._hold_until()
        if self.clock() >= until:
            return None
        return f"the CRM asked this kiosk to wait until {iso_seconds(until)} (Retry-After)"

    # -- pushing -------------------------------------------------------------------------

    def drain(self, *, max_batches: int | None = None, ignore_backoff: bool = False) -> DrainResult:
        """Push batches until the outbox is empty, a failure backs off, or `max_batches`."""
        if self.client is None:
            return DrainResult(0, 0, 0, StopReason.NOT_CONFIGURED, "no CRM is set up")
        if self._refused():
            refused = str(self.state.get("last_error", ""))
            return DrainResult(0, 0, 0, StopReason.CREDENTIALS, refused)
        held = self._held()  # even for `kiosk sync --once`: the CRM asked for it
        if held is not None:
            return DrainResult(0, 0, 0, StopReason.BACKOFF, held)
        batches = acknowledged = rejected = 0
        while max_batches is None or batches < max_batches:
            if not ignore_backoff and not self.due():
                return DrainResult(batches, acknowledged, rejected, StopReason.BACKOFF)
            batch = self.outbox.next_batch(self.config.batch_size)
            if batch.empty:
                # Every visit's entry is at the CRM now: its ratings may follow it.
                push_feedback(self.client, self.service)
                return DrainResult(batches, acknowledged, rejected, StopReason.EMPTY)
            known = acknowledged_here(self.service.conn, self.service.device_id)
            try:
                answer = self.client.push(
                    batch.members, batch.entries, chain_head=self.outbox.chain_head(batch)
                )
            except CrmError as error:
                stopped = self._failed(error)
                return DrainResult(batches, acknowledged, rejected, stopped, str(error))
            done, flagged = self.outbox.acknowledge(
                batch, answer.high_water, answer.rejected, self._success()
            )
            rewound = rewind_if_behind(
                self.state,
                self.service.device_id,
                answer.high_water,
                self.clock,
                acknowledged=known,
            )
            batches += 1
            self.progress()
            acknowledged += done
            rejected += flagged
            if flagged:
                log.warning("the CRM rejected %d entries; they are kept and flagged", flagged)
            if (
                rewound is None
                and batch.entries
                and answer.high_water < batch.last_seq
                and not done
            ):
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
        held = self._held()
        if held is not None:
            return PullResult(0, {}, StopReason.BACKOFF, held)
        if self.clock() < float(self.state.get("pull_next_attempt_at", 0.0)):
            return PullResult(0, {}, StopReason.BACKOFF)
        owner = owner_key(self.config, self._database_folder())
        here = Here(
            self.service.device_id,
            self.service.program.tiers[0].id,
            owner=owner,
            min_pin_scrypt_n=self.service.config.security.pin_scrypt_n,
            replay_until=pulled.read_again_for(
                self.service.conn, f"{owner.chain_id}:{owner.text}" if owner else ""
            ),
            journal=self.service.erasure_journal,
        )
        applied: Counter[str] = Counter()
        pages = 0
        renumbered = False
        while max_pages is None or pages < max_pages:
            try:
                page = self.client.changes(pulled.cursor(self.service.conn), limit)
            except CrmError as error:
                return PullResult(pages, dict(applied), self._failed(error, "pull_"), str(error))
            if not renumbered and reset_if_renumbered(self.state, page.epoch, self.clock):
                # The feed was numbered again (a restored CRM): this page is not applied,
                # everything is read and applied again from 0 (sync/feed_epoch.py), once
                # in a pull whatever the next pages say.
                renumbered = True
                here = replace(here, replay_until=0)
                continue
            applied += pulled.apply_page(self.service.conn, here, page.changes, page.next_cursor)
            pages += 1
            self.progress()
            if not page.more:
                break
        now = self.clock()
        self.state.set(
            pull_attempts=0,
            pull_next_attempt_at=0.0,
            last_pull_at=iso_seconds(now),
            last_contact_at=now,
            **self._offset(),
        )
        if applied["program"]:
            self.service.reload_program()
        return PullResult(pages, dict(applied), StopReason.DONE)

    # -- heartbeat -----------------------------------------------------------------------

    def heartbeat(self, readers: list[dict[str, str]] | None = None) -> bool:
        """Tell the CRM how this kiosk is doing; False if it could not be told.

        Not a retry: the backoff of pushes and pulls does not hold it (it has its own
        interval, and a failed one starts no backoff), but a Retry-After does.
        """
        self.rewound = None
        if self.client is None or self._refused() or self._held() is not None:
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
        # What the CRM had acknowledged before it was asked: its answer's mark is at least
        # that unless it went back. (Read after the answer, a push of another process
        # acknowledged meanwhile would look like a going-back.)
        known = acknowledged_here(self.service.conn, self.service.device_id)
        try:
            answer = self.client.heartbeat(status)
        except CrmError as error:
            log.warning("heartbeat failed (%s)", error.code)
            kept = {**self._offset(), **self._hold(error)} if error.status is not None else {}
            if kept:
                self.state.set(**kept)
            return False
        members = chain_count_of(answer)  # the club's size (kiosk/core/social.py)
        heard = (
            {CHAIN_MEMBERS: {"count": members, "at": self.clock()}} if members is not None else {}
        )
        self.state.set(
            last_heartbeat_at=iso_seconds(self.clock()),
            last_contact_at=self.clock(),
            **self._offset(),
            **heard,
        )
        # The CRM's mark for this kiosk: below what it had acknowledged, it lost entries
        # (restored from a backup) and they are owed again (sync/rewind.py).
        mark = high_water_of(answer)
        if mark is not None:
            self.rewound = rewind_if_behind(
                self.state, self.service.device_id, mark, self.clock, acknowledged=known
            )
        return True

    def _offset(self) -> dict[str, float]:
        """The clock offset the client measured, to keep for the next process ({} if none)."""
        offset = self.client.clock_offset if self.client is not None else None
        return {} if offset is None else {"clock_offset": offset}

    def _hold(self, error: CrmError) -> dict[str, float]:
        """A Retry-After, as the time until which every request of this device waits."""
        if error.retry_after is None:
            return {}
        # Honoured, up to a day: a CRM asking for years (or a garbled header) must not
        # park the kiosk beyond any date it can write.
        return {"hold_until": self.clock() + min(error.retry_after, MAX_RETRY_AFTER_SECONDS)}

    def _database_folder(self) -> Path:
        return database_folder(self.service.conn)

    def _success(self) -> dict[str, Any]:
        """The state after an answered push: no failures, the time, the clock offset."""
        now = self.clock()
        return {
            "attempts": 0,
            "next_attempt_at": 0.0,
            "last_success_at": iso_seconds(now),
            "last_contact_at": now,
            **self._offset(),
        }

    def _failed(self, error: CrmError, prefix: str = "") -> StopReason:
        now = self.clock()
        if error.credentials:
            log.error("the CRM refused this kiosk's credentials (%s); pushing stops", error.code)
            self.state.set(
                credentials_refused=True,
                refused_secret=fingerprint(self.client.secret if self.client else None),
                last_error=str(error),
                last_error_code=error.code,
                last_error_at=iso_seconds(now),
            )
            return StopReason.CREDENTIALS
        attempts = int(self.state.get(f"{prefix}attempts", 0))
        ceiling = min(
            float(self.config.backoff_cap_seconds),
            float(self.config.backoff_base_seconds) * 2**attempts,
        )
        delay = self.jitter() * ceiling  # full jitter
        if error.retry_after is not None:
            delay = max(delay, min(error.retry_after, MAX_RETRY_AFTER_SECONDS))
        if error.code == "signature_expired" and self.client is not None:
            offset = self.client.clock_offset or 0.0
            log.warning(
                "the CRM refused this kiosk's time: its clock is %.0f s %s the CRM's; the next "
                "request is signed with the CRM's time (fix the clock: NTP)",
                abs(offset),
                "behind" if offset > 0 else "ahead of",
            )
        log.warning(
            "%s failed (%s); next attempt in %.1f s", prefix[:-1] or "push", error.code, delay
        )
        answered = error.status is not None
        self.state.set(
            **{f"{prefix}attempts": attempts + 1, f"{prefix}next_attempt_at": now + delay},
            last_error=str(error),
            last_error_code=error.code,
            last_error_at=iso_seconds(now),
            **({"last_contact_at": now, **self._offset(), **self._hold(error)} if answered else {}),
        )
        return StopReason.BACKOFF if error.retryable else StopReason.ERROR

    def reset_credentials(self) -> None:
        """After a technician re-enrolled the kiosk: push again (with the owner key the
        enrollment answer carried, kept in the provisioning layer)."""
        credentials_renewed(self.service)
        if self.client is not None and self.client.owner_key is not None:
            keep_owner_key(self._database_folder(), self.client.owner_key)

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
        current = fingerprint(self.client.secret if self.client else None)
        return current is not None and current != refused_secret

    # -- status --------------------------------------------------------------------------

    def status(self) -> SyncStatus:
        """Queue depth, last success, last error, next attempt: `kiosk sync status`."""
        pending, rejected = self.outbox.depth()
        state = self.state.all()
        next_at = float(state.get("next_attempt_at", 0.0))
        if self._held() is not None:  # a Retry-After, even one a heartbeat got
            next_at = max(next_at, self._hold_until())
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
            next_attempt_at=iso_seconds(next_at) if next_at else None,
            credentials_refused=bool(state.get("credentials_refused", False)) and not renewed,
            clock_offset_seconds=state.get("clock_offset"),
            last_pull_at=state.get("last_pull_at"),
            last_heartbeat_at=state.get("last_heartbeat_at"),
            pull_cursor=int(state.get("cursor", 0)),
            last_rewind=_rewind_shown(state.get(LAST_REWIND)),
            last_feed_reset=reset_shown(state.get(LAST_FEED_RESET)),
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
        hold_until=0.0,  # the CRM has just answered the enrollment
    )


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


def _rewind_shown(kept: object) -> dict[str, Any] | None:
    """The last rewind as `kiosk sync status` shows it: when, to which seq, how much again."""
    if not isinstance(kept, dict):
        return None
    return {key: kept.get(key) for key in ("at", "to", "from", "entries", "members")}
