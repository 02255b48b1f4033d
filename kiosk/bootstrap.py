"""The composition root: the one place that builds the running appliance from its config.

`kiosk run`, `kiosk sync`, every CLI command and the test fixtures get their objects
here: the service on the kiosk database, the card readers and the buzzer, the CRM client
and the sync worker, the simulated CRM when asked for, the systemd watchdog. Nothing
else opens a database, a network client or a simulator by itself, and this is the only
module (with the CLI) that may import `sim`, whose reader and feedback kinds it
registers like any plug-in.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from drivers.factory import ReaderSet, build_reader
from drivers.feedback import Feedback, build_feedback
from kiosk.appliance.erasure_journal import FileErasureJournal
from kiosk.appliance.watchdog import Notifier
from kiosk.config import KioskConfig, load_config, resolve_data_dir
from kiosk.core.clock import Clock, system_clock
from kiosk.core.service import LoyaltyService
from kiosk.core.store.db import database_path
from kiosk.core.store.vault import KeySource
from kiosk.errors import SecretExposed, StorageUnavailable

if TYPE_CHECKING:
    from kiosk.core.sync_status import SyncStatus
    from sync.background import BackgroundSync
    from sync.client import CrmClient
    from sync.provision import Provisioned
    from sync.worker import SyncWorker

log = logging.getLogger(__name__)


def _register_plugins() -> None:
    # The simulators' `sim:` reader and feedback kinds: shipped code, registered here so
    # that drivers/ never imports sim/.
    from sim import schemes

    schemes.register()


_register_plugins()


class SimulatedCrm(Protocol):
    """A CRM started in this process (`kiosk run --sim`): its URL, and how to stop it."""

    @property
    def url(self) -> str:
        """Where it serves (http on loopback)."""

    def stop(self) -> None:
        """Stop serving."""


@dataclass
class Appliance:
    """The running kiosk's parts, built on demand from one configuration and data directory."""

    config: KioskConfig
    data_dir: Path
    clock: Clock = system_clock
    notifier: Notifier = field(default_factory=lambda: Notifier(environ={}))
    _client: CrmClient | None = field(default=None, repr=False)
    _keys: KeySource | None = field(default=None, repr=False)

    @classmethod
    def load(
        cls,
        config_file: str | None = None,
        overrides: Iterable[str] = (),
        *,
        data_dir: str | None = None,
        simulated: bool = False,
    ) -> Appliance:
        """From the config layers (defaults, file, provisioned, overrides) as the CLI gives them."""
        options = [*overrides, *(["device.simulated=true"] if simulated else [])]
        config = load_config(config_file, options, data_dir=data_dir)
        return cls(config, resolve_data_dir(config, data_dir))

    # -- the core --------------------------------------------------------------------------

    def database_exists(self) -> bool:
        """Whether the kiosk database is there (commands that only read refuse to create it)."""
        return database_path(self.data_dir).exists()

    def open_service(self, *, create: bool = True) -> LoyaltyService:
        """The service on the kiosk database (created and migrated if `create`).

        With a CRM, its redemptions are authorised there first (online redemption), and
        members not known here are looked up there (members of other branches).
        """
        if not create and not self.database_exists():
            raise StorageUnavailable(
                reason=f"there is no kiosk database in {self.data_dir} (check --data-dir)"
            )
        service = LoyaltyService.open(
            self.data_dir, self.config, clock=self.clock, keys=self.key_source()
        )
        # Every erasure is journaled beside the database, for `kiosk restore` to redo.
        service.erasure_journal = FileErasureJournal(self.data_dir)
        if self.config.crm.url:
            from sync.holds import CrmAuthorizer

            device_id = service.device_id
            service.authorizer = CrmAuthorizer(
                service, lambda: self._current_client(device_id), self.config.crm
            )
            from sync.directory import CrmDirectory

            # Members of other branches, looked up at the CRM (its feed has this branch's).
            service.directory = CrmDirectory(
                service.sync_state, lambda: self._current_client(device_id), self.config.crm
            )
            from sync.verification import CrmVerifier

            # Codes sent by SMS before a card is linked to a phone (kiosk/core/verification.py).
            service.verifier = CrmVerifier(
                service.sync_state, lambda: self._current_client(device_id), self.config.crm
            )
        return service

    def key_source(self) -> KeySource:
        """Where the key that wraps the data key comes from (`security.key_source`)."""
        if self._keys is None:
            from kiosk.appliance.keys import resolve

            found = resolve(self.config.security.key_source, self.data_dir)
            if isinstance(found, str):  # "hub": it needs the CRM client, built here
                from sync.storage_key import HubKey

                found = HubKey(self.config, self.data_dir, self.crm_client)
            self._keys = found
        return self._keys

    def _current_client(self, device_id: str) -> CrmClient | None:
        """The CRM client for a hold, or None when the secret cannot be read now."""
        try:
            return self.crm_client(device_id)
        except (SecretExposed, ValueError, OSError) as exc:
            log.warning("no CRM client for a hold: %s", type(exc).__name__)
            return None

    # -- hardware --------------------------------------------------------------------------

    def reader_urls(self) -> list[str]:
        """The configured reader URLs; the simulated reader when none are set in simulator mode."""
        return self.config.reader_urls()

    def readers(self) -> ReaderSet:
        """All configured readers, debounced; `sim:` listens on a socket in the data directory."""
        return ReaderSet(
            [build_reader(url, data_dir=self.data_dir) for url in self.reader_urls()],
            debounce_seconds=self.config.readers.debounce_ms / 1000,
        )

    def feedback(self) -> Feedback:
        """The buzzer/LED, if one is configured."""
        return build_feedback(self.config.readers.feedback)

    def systemd_notifier(self) -> Notifier:
        """systemd's notify socket and watchdog, when run by a unit (else it does nothing)."""
        self.notifier = Notifier()
        return self.notifier

    # -- the CRM ---------------------------------------------------------------------------

    def crm_client(self, device_id: str) -> CrmClient | None:
        """The CRM client, or None when no CRM is set up.

        Kept while the device secret stays the same: the secret is read each time (a file
        of 44 bytes), and a new one (`kiosk provision` or `kiosk sync enroll` in another
        process) gets a new client, so the next request is signed with it.
        """
        from sync.worker import build_client, load_secret

        if not self.config.crm.url:
            return None
        secret = load_secret(self.config.crm, self.data_dir, self.key_source())
        if self._client is not None and self._client.secret != secret:
            log.info("the device secret changed: signing with the new one")
            self.forget_client()
        if self._client is None:
            self._client = build_client(self.config.crm, device_id, secret)
        return self._client

    def credentials_changed(self) -> bool:
        """Whether the device secret is no longer the one the kept CRM client signs with."""
        from sync.worker import load_secret

        if self._client is None:
            return False  # the next cycle builds a client with whatever is there
        try:
            return load_secret(self.config.crm, self.data_dir, self.key_source()) != (
                self._client.secret
            )
        except (SecretExposed, ValueError, OSError):
            return False  # the next cycle says what is wrong with the secret

    def enrollment_client(self, url: str, device_id: str, ca_bundle: str | None) -> CrmClient:
        """A client for trading a one-time code for the device secret (provisioning)."""
        from sync.client import CrmClient

        return CrmClient(url, device_id, ca_bundle=ca_bundle, timeout=(5.0, 15.0))

    def sync_worker(self, service: LoyaltyService) -> SyncWorker:
        """The sync worker on `service` (its client is None when no CRM is set up)."""
        from sync.worker import SyncWorker

        return SyncWorker(service, self.crm_client(service.device_id), self.config.crm)

    @contextlib.contextmanager
    def sync_session(self) -> Iterator[SyncWorker]:
        """A worker on a connection of its own, closed after the block (one sync cycle)."""
        service = self.open_service()
        try:
            yield self.sync_worker(service)
            self._erase_pulled_from_backups(service)
        finally:
            service.close()

    def _erase_pulled_from_backups(self, service: LoyaltyService) -> None:
        """Carry erasures the session pulled from the CRM into the backups at once."""
        from kiosk.appliance.backup import erase_from_backups
        from kiosk.core.pulled import BACKUPS_OWE_ERASURES

        if not service.sync_state.get(BACKUPS_OWE_ERASURES):
            return
        try:
            erase_from_backups(self.data_dir, keys=self.key_source())
        except StorageUnavailable as exc:  # the flag stays: the next session tries again
            log.warning("erased members could not be erased in the backups yet: %s", exc)
            return
        service.sync_state.set(**{BACKUPS_OWE_ERASURES: False})

    def forget_client(self) -> None:
        """Drop the CRM client (credentials changed); the next cycle builds a new one."""
        if self._client is not None:
            self._client.close()
            self._client = None

    def background_sync(
        self,
        on_status: Callable[[SyncStatus], None] | None = None,
        *,
        notifier: Notifier | None = None,
    ) -> BackgroundSync | None:
        """The scheduled push, pull and heartbeat; None when no CRM is set up."""
        if not self.config.crm.url:
            return None
        from sync.background import BackgroundSync

        return BackgroundSync(
            self.sync_session,
            self.config.crm,
            notifier=notifier or self.notifier,
            on_status=on_status or (lambda _status: None),
            close=self.forget_client,
            credentials_changed=self.credentials_changed,
        )

    def provision(
        self,
        service: LoyaltyService,
        *,
        crm_url: str,
        code: str,
        store_name: str | None = None,
        ca_bundle: str | None = None,
        owner: str | None = None,
    ) -> Provisioned:
        """Enroll at a CRM with a one-time code and write the credentials (`kiosk provision`)."""
        from sync.provision import provision

        # The kept client is not closed here (a sync cycle may be using it on its thread):
        # it is replaced at its next use, the secret being new.
        return provision(
            service,
            data_dir=self.data_dir,
            crm_url=crm_url,
            code=code,
            store_name=store_name,
            ca_bundle=ca_bundle,
            owner=owner,
            connect=self.enrollment_client,
        )

    def provision_device(self, crm_url: str, code: str) -> str:
        """Provision from the technician's screen (any thread): returns the device id."""
        service = self.open_service()
        try:
            return self.provision(service, crm_url=crm_url, code=code).device_id
        finally:
            service.close()

    def start_simulated_crm(self) -> tuple[Appliance, SimulatedCrm]:
        """For `kiosk run --sim` without a CRM: a simulated CRM on loopback, this kiosk enrolled.

        Returns the appliance pointed at it, and the server (stop it when done).
        """
        from sim.crm import CrmServer
        from sim.crm_store import CrmStore
        from sync.worker import load_secret, save_secret

        self.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)  # a first run
        server = CrmServer(CrmStore(self.data_dir / "sim-crm.db")).start()
        crm = replace(self.config.crm, url=server.url)
        configured = replace(self, config=replace(self.config, crm=crm), _client=None)
        service = configured.open_service()
        try:
            known = server.store.secret_of(service.device_id) is not None
            if load_secret(crm, self.data_dir, configured.key_source()) is None or not known:
                client = configured.enrollment_client(server.url, service.device_id, None)
                try:
                    secret = client.enroll(server.store.new_code())
                finally:
                    client.close()
                save_secret(crm, self.data_dir, secret, configured.key_source())
        finally:
            service.close()
        return configured, server

    # -- the touch app ---------------------------------------------------------------------

    def run_touch_app(self) -> int:
        """Open the kiosk window on the configured readers and CRM; returns the exit code."""
        from kiosk.appliance import logs
        from kiosk.ui.launch import configure_kivy

        logs.configure(logging.INFO)
        configure_kivy(self.config, self.data_dir)
        from kiosk.ui.app import KioskApp

        appliance, simulated_crm = self, None
        if self.config.device.simulated and not self.config.crm.url:
            appliance, simulated_crm = self.start_simulated_crm()
        notifier = appliance.systemd_notifier()
        service = appliance.open_service()
        app = KioskApp(
            service,
            data_dir=appliance.data_dir,
            readers=appliance.readers(),
            feedback=appliance.feedback(),
            notifier=notifier,
            provision=appliance.provision_device,
        )
        background = appliance.background_sync(on_status=app.sync_reported)
        if background is not None:
            app.attach_sync(background)
            background.readers = app.reader_report
            background.start()
        try:
            app.run()
        finally:
            if background is not None:
                background.stop()
            if simulated_crm is not None:
                simulated_crm.stop()
            service.close()
        return app.exit_code
