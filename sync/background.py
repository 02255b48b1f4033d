"""The sync worker inside the touch app: its own thread and database connection, APScheduler.

The touch app and the worker never share a SQLite connection: each cycle opens a session
of its own on the worker's one thread (WAL lets both work at once); the sessions come
from the composition root (kiosk/bootstrap.py), which also keeps the CRM client. After a
sale the app pokes the worker so the entry leaves at once when the CRM is reachable;
otherwise it goes with the next push. New credentials written by another process
(`kiosk provision`, `kiosk sync enroll`) are noticed within PROVISIONED_CHECK_SECONDS.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import replace
from datetime import UTC, datetime

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler

from kiosk.appliance.watchdog import Notifier
from kiosk.config import CrmConfig
from kiosk.core.sync_status import StopReason, SyncStatus
from kiosk.errors import SecretExposed
from sync.worker import SyncWorker

log = logging.getLogger(__name__)
_JOB = "push"
# How often a running `kiosk sync` looks for a new device secret, and one that is not
# provisioned yet for its config and secret (kiosk/cli/sync.py): docs/cli.md says 10 s.
PROVISIONED_CHECK_SECONDS = 10.0


class BackgroundSync:
    """Pushes on a schedule and on demand; reports its status to a callback (any thread)."""

    def __init__(
        self,
        session: Callable[[], AbstractContextManager[SyncWorker]],
        config: CrmConfig,
        *,
        on_status: Callable[[SyncStatus], None] = lambda _status: None,
        notifier: Notifier | None = None,
        close: Callable[[], None] = lambda: None,
        credentials_changed: Callable[[], bool] = lambda: False,
    ) -> None:
        self.session = session
        self.config = config
        self.on_status = on_status
        # systemd's watchdog (`kiosk sync` as a service): pinged by a job on the one worker
        # thread and after every batch, so a push or pull stuck on that thread stops it.
        self.notifier = notifier or Notifier(environ={})
        self._close = close  # releases what the sessions share (the CRM client)
        # Whether the device secret changed since the sessions' client was made.
        self._credentials_changed = credentials_changed
        self.drained = threading.Event()  # set after each push cycle (tests wait on it)
        self._lock = threading.Lock()
        self._pushing = False  # a push cycle is under way
        self._again = False  # a push was asked for meanwhile
        self._stopping = False
        # The readers' states for the heartbeat (set by the app).
        self.readers: Callable[[], list[dict[str, str]]] = list
        # One thread: the worker's SQLite connection is used from the thread that made it.
        self.scheduler = BackgroundScheduler(
            executors={"default": ThreadPoolExecutor(max_workers=1)}, timezone=UTC
        )

    def start(self) -> BackgroundSync:
        # coalesce and max_instances=1: a burst of pokes is one push; misfire_grace_time
        # None: a push that starts late still runs (the default of 1 s would drop it).
        self.scheduler.add_job(
            self._cycle,
            "interval",
            seconds=self.config.push_interval_seconds,
            id=_JOB,
            next_run_time=datetime.now(UTC),
            coalesce=True,
            max_instances=1,
            misfire_grace_time=None,
        )
        crm = self.config
        self.scheduler.add_job(
            self._pull,
            "interval",
            seconds=crm.pull_interval_seconds,
            id="pull",
            next_run_time=datetime.now(UTC),
            coalesce=True,
            max_instances=1,
            misfire_grace_time=None,
        )
        self.scheduler.add_job(
            self._heartbeat,
            "interval",
            seconds=crm.heartbeat_interval_seconds,
            id="heartbeat",
            coalesce=True,
            max_instances=1,
            misfire_grace_time=None,
        )
        # Pushes are 30 s apart by default, and refused credentials stop them: a new secret
        # is looked for more often, which costs one read of a small file.
        self.scheduler.add_job(
            self._look_for_credentials,
            "interval",
            seconds=PROVISIONED_CHECK_SECONDS,
            id="credentials",
            coalesce=True,
            max_instances=1,
            misfire_grace_time=None,
        )
        if self.notifier.interval is not None:
            self.scheduler.add_job(
                self.notifier.ping,
                "interval",
                seconds=self.notifier.interval,
                id="watchdog",
                next_run_time=datetime.now(UTC),
                coalesce=True,
                max_instances=1,
                misfire_grace_time=None,
            )
        self.scheduler.start()
        self.notifier.ready(f"syncing with {self.config.url}")
        return self

    def stop(self) -> None:
        self.notifier.stopping()
        with self._lock:
            # A cycle ending now must not call the scheduler: shutdown holds its lock
            # while it waits for that cycle (a deadlock).
            self._stopping = True
        self.scheduler.shutdown(wait=True)
        self._close()

    def push_now(self) -> None:
        """Push at once (after a sale, or the technician's "sync now").

        While a push is under way (a slow CRM), one more is remembered and runs when it
        ends: asking the scheduler would only log "skipped" for every sale.
        """
        self.drained.clear()
        with self._lock:  # held while asking the scheduler: stop() cannot begin meanwhile
            if self._stopping:
                return
            if self._pushing:
                self._again = True
                return
            self._schedule_push()

    def _look_for_credentials(self) -> None:
        try:
            changed = self._credentials_changed()
        except Exception:  # the worker must outlive a bug in one check
            log.exception("looking for new credentials failed")
            return
        if not changed:
            return
        log.info("new device credentials: pushing and pulling now")
        with self._lock:
            if self._stopping:
                return
            pull = self.scheduler.get_job("pull")
            if pull is not None:
                pull.modify(next_run_time=datetime.now(UTC))
        self.push_now()

    def _schedule_push(self) -> None:
        job = self.scheduler.get_job(_JOB)
        if job is not None:
            job.modify(next_run_time=datetime.now(UTC))

    def _with_worker(self, work: Callable[[SyncWorker], SyncStatus]) -> SyncStatus:
        try:
            with self.session() as worker:
                worker.progress = self.notifier.ping
                return work(worker)
        except SecretExposed as exposed:
            log.error("%s", exposed)  # checked again next cycle
            return SyncStatus(configured=True, stopped=StopReason.SECRET_EXPOSED)

    def _pull(self) -> None:
        def pull(worker: SyncWorker) -> SyncStatus:
            result = worker.pull()
            return replace(worker.status(), pulled=result.applied, stopped=result.stopped)

        try:
            status = self._with_worker(pull)
        except Exception:
            log.exception("pull failed")
            return
        self.on_status(status)

    def _heartbeat(self) -> None:
        rewound = False

        def beat(worker: SyncWorker) -> SyncStatus:
            nonlocal rewound
            worker.heartbeat(self.readers())
            rewound = worker.rewound is not None
            return worker.status()

        try:
            self._with_worker(beat)
        except Exception:
            log.exception("heartbeat failed")
        if rewound:  # the CRM lost entries (restored from a backup): send them now
            self.push_now()

    def _cycle(self) -> None:
        def push(worker: SyncWorker) -> SyncStatus:
            result = worker.drain()
            return replace(worker.status(), stopped=result.stopped)

        with self._lock:
            self._pushing, self._again = True, False
        try:
            status = self._with_worker(push)
        except Exception:  # the worker must outlive a bug in one cycle
            log.exception("sync cycle failed")
            status = SyncStatus(configured=True, stopped=StopReason.ERROR)
        finally:
            with self._lock:
                self._pushing, again = False, self._again and not self._stopping
                if again:
                    self._schedule_push()
            if not again:
                self.drained.set()
        self.on_status(status)
