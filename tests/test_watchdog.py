"""systemd's notify protocol: READY=1, WATCHDOG=1 from the working loop, silence when stuck."""

from __future__ import annotations

import logging
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from kiosk.appliance.watchdog import Notifier
from kiosk.bootstrap import Appliance
from kiosk.core.store.staff import CLI
from sim.crm import CrmServer
from sim.crm_store import CrmStore
from sync.client import CrmClient
from sync.worker import save_secret
from tests.conftest import make_config
from tests.notify_socket import NotifySocket

WAIT = 120.0  # safety limits, never a pace (a busy 2-core machine took over 30 s once)


def stop(child: subprocess.Popen[str]) -> str:
    """SIGTERM, and the child's standard error once it has ended. A child that does not end
    is made to print every thread's stack (faulthandler, on SIGABRT): the failure says
    where it hung."""
    child.send_signal(signal.SIGTERM)
    try:
        return child.communicate(timeout=WAIT)[1]
    except subprocess.TimeoutExpired:
        child.send_signal(signal.SIGABRT)
        errors = child.communicate(timeout=WAIT)[1]
        pytest.fail(f"no exit {WAIT:.0f} s after SIGTERM; its threads then:\n{errors}")


@pytest.fixture
def notify() -> Iterator[NotifySocket]:
    # A short path: AF_UNIX socket paths are limited to 107 bytes.
    folder = Path(tempfile.mkdtemp(prefix="notify-"))
    with NotifySocket(folder / "sock") as sock:
        yield sock
    shutil.rmtree(folder, ignore_errors=True)


def test_ready_pings_and_stopping_reach_the_socket(notify: NotifySocket):
    notifier = Notifier({"NOTIFY_SOCKET": str(notify.path), "WATCHDOG_USEC": "30000000"})

    notifier.ready("attract screen")
    notifier.ping()
    notifier.stopping()

    assert notifier.interval == 15.0  # half of WatchdogSec
    notify.next("READY=1")
    notify.next("WATCHDOG=1")
    notify.next("STOPPING=1")


def test_the_abstract_socket_form_is_understood():
    name = f"kiosk-test-{os.getpid()}"
    import socket

    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind("\0" + name)
        sock.settimeout(WAIT)
        Notifier({"NOTIFY_SOCKET": "@" + name}).ready()
        assert sock.recv(100) == b"READY=1"


def test_outside_systemd_nothing_is_sent_and_nothing_fails():
    notifier = Notifier({})

    notifier.ready()
    notifier.ping()

    assert not notifier.enabled and notifier.interval is None and notifier.pings == 0


def test_a_watchdog_meant_for_another_process_is_not_ours(notify: NotifySocket):
    notifier = Notifier(
        {"NOTIFY_SOCKET": str(notify.path), "WATCHDOG_USEC": "1000000", "WATCHDOG_PID": "1"}
    )

    assert notifier.enabled and notifier.interval is None


def test_a_vanished_socket_is_logged_once_and_never_raised(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
):
    notifier = Notifier({"NOTIFY_SOCKET": str(tmp_path / "gone"), "WATCHDOG_USEC": "1000000"})

    with caplog.at_level(logging.WARNING, logger="kiosk.appliance.watchdog"):
        for _ in range(3):
            notifier.ping()

    assert [r.message for r in caplog.records if "notify systemd" in r.message] == [
        caplog.records[0].message
    ]


def test_a_supervisor_that_stops_reading_never_hangs_the_pings_or_the_stop(
    notify: NotifySocket,
):
    """Its socket's queue fills after a few datagrams; a blocking send would then wait for
    ever, and the service could not stop (the scheduler waits for the ping's thread)."""
    notifier = Notifier({"NOTIFY_SOCKET": str(notify.path), "WATCHDOG_USEC": "200000"})

    def flood() -> None:
        for _ in range(200):  # twenty times the queue's default length
            notifier.ping()
        notifier.stopping()

    pinging = threading.Thread(target=flood, daemon=True)
    pinging.start()
    pinging.join(WAIT)  # a safety limit: it returns at once, or hangs

    assert not pinging.is_alive(), "a ping waited for a supervisor that does not read"
    assert 0 < len(notify.drain()) < 200  # the queue was full: the rest were dropped
    notifier.ready("read again")
    notify.next("READY=1")


def test_kiosk_sync_pings_from_its_worker_thread_and_stops_when_it_is_stuck(
    notify: NotifySocket, tmp_path: Path
):
    """`kiosk sync` as systemd runs it: READY=1, then pings; a push stuck on the worker's
    thread silences them (systemd would restart it); unstuck, they come back."""
    data = tmp_path / "data"
    with CrmServer(CrmStore()) as crm:
        config_file = tmp_path / "kiosk.toml"
        config_file.write_text(
            f'[device]\nid = "kiosk-dog"\n[security]\npin_scrypt_n = 1024\n'
            f'[crm]\nurl = "{crm.url}"\npush_interval_seconds = 1\ntimeout_seconds = 120\n'
        )
        config = make_config('device.id="kiosk-dog"', f'crm.url="{crm.url}"')
        service = Appliance(config, data).open_service()
        member = service.enroll("09121234567", client_txn_id="e-1").member_id
        code = crm.store.new_code()
        save_secret(config.crm, data, CrmClient(crm.url, "kiosk-dog").enroll(code))
        gate, stuck = threading.Event(), threading.Event()

        def hold(path: str) -> None:
            if path == "/v2/push" and not gate.is_set():
                stuck.set()
                gate.wait(WAIT)  # the CRM does not answer: the worker's thread waits

        env = {
            **os.environ,
            "KIOSK_CONFIG": str(config_file),
            "NOTIFY_SOCKET": str(notify.path),
            "WATCHDOG_USEC": "200000",  # WatchdogSec=0.2 s: a ping every 0.1 s
            "PYTHONFAULTHANDLER": "1",
        }
        child = subprocess.Popen(
            [sys.executable, "-m", "kiosk.cli", "sync", "--data-dir", str(data)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            notify.next("READY=1")
            for _ in range(3):
                notify.next("WATCHDOG=1")
            crm.on_request = hold
            service.earn(member, 1_000_000, cashier=CLI, client_txn_id="t-1")
            assert stuck.wait(WAIT), "the worker never pushed"
            notify.drain()
            silent = notify.silent_for("WATCHDOG=1", 1.0)  # five watchdog timeouts
            alive = child.poll() is None
            gate.set()
            notify.next("WATCHDOG=1")  # unstuck: the pings are back
        finally:
            gate.set()
            errors = stop(child)
            service.close()

    assert silent and alive
    assert child.returncode == 0, errors


def test_kiosk_sync_waits_for_provisioning_then_syncs(notify: NotifySocket, tmp_path: Path):
    """Under systemd the sync service starts before the kiosk is provisioned: it says it is
    ready and waiting (exiting would make systemd restart it in a loop), keeps pinging, and
    starts pushing once `kiosk provision` has run."""
    data = tmp_path / "data"
    config_file = tmp_path / "kiosk.toml"
    config_file.write_text('[device]\nid = "kiosk-wait"\n[security]\npin_scrypt_n = 1024\n')
    service = Appliance(make_config('device.id="kiosk-wait"'), data).open_service()
    service.enroll("09121234567", client_txn_id="e-1")
    service.close()
    env = {
        **os.environ,
        "KIOSK_CONFIG": str(config_file),
        "NOTIFY_SOCKET": str(notify.path),
        "WATCHDOG_USEC": "200000",
        "PYTHONFAULTHANDLER": "1",
    }
    with CrmServer(CrmStore()) as crm:
        pushed = threading.Event()
        crm.on_request = lambda path: pushed.set() if path == "/v2/push" else None
        child = subprocess.Popen(
            [sys.executable, "-m", "kiosk.cli", "sync", "--data-dir", str(data)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            notify.next("STATUS=waiting for provisioning")
            notify.next("WATCHDOG=1")
            waiting = child.poll() is None and not pushed.is_set()
            provisioned = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "kiosk.cli",
                    "provision",
                    "--crm",
                    crm.url,
                    "--code",
                    crm.store.new_code(),
                    "--data-dir",
                    str(data),
                ],
                env={**env, "NOTIFY_SOCKET": ""},
                input="2468\n2468\n",
                capture_output=True,
                text=True,
                timeout=WAIT,
                check=False,
            )
            assert provisioned.returncode == 0, provisioned.stderr
            assert pushed.wait(WAIT), "the waiting worker never pushed"
        finally:
            errors = stop(child)

    assert waiting
    assert child.returncode == 0, errors
    assert "not provisioned yet" in errors
