"""Log lines for journald: plain, with a level, and never a phone number or a card UID."""

from __future__ import annotations

import io
import logging
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from kiosk.appliance import logs
from kiosk.bootstrap import Appliance
from sim.crm import CrmServer
from sim.crm_faults import Faults
from sim.crm_store import CrmStore
from tests.conftest import make_config

PHONES = ["+989121234567", "09121234567", "989121234567", "0912 123 4567", "۰۹۱۲۱۲۳۴۵۶۷"]
UIDS = ["1A2B3C4D", "04A1B2C3D4E5F6", "04a1b2c3d4e5f6a7b8c9"]
KEPT = [
    "entry 3f2a9c1e-1234-4abc-8def-0123456789ab",
    "device kiosk-3f2a9c",
    "seq 12345678",
    "at 2026-11-23T09:30:00.000000Z",
    "127.0.0.1:54321",
    "500 entries in 36.1 ms",
    "at 2026-11-23 11:44:05 UTC",
]


@pytest.fixture
def root_restored() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.mark.parametrize("phone", PHONES)
def test_a_phone_number_never_reaches_a_log_line(phone: str):
    assert logs.redact(f"member with {phone} enrolled") == "member with [phone] enrolled"


@pytest.mark.parametrize("uid", UIDS)
def test_a_card_uid_never_reaches_a_log_line(uid: str):
    assert logs.redact(f"card {uid} tapped") == "card [card] tapped"


@pytest.mark.parametrize("text", KEPT)
def test_ids_times_and_figures_are_kept(text: str):
    assert logs.redact(text) == text


def test_under_systemd_each_line_carries_its_syslog_priority(root_restored: None):
    out = io.StringIO()
    logs.configure(logging.INFO, stream=out, environ={"JOURNAL_STREAM": "8:12345"})
    log = logging.getLogger("sync.worker")

    log.info("pushed %d entries", 500)
    log.warning("push failed (%s) for %s", "network", "09121234567")
    try:
        raise ValueError("card 1A2B3C4D")
    except ValueError:
        log.exception("cycle failed")

    lines = out.getvalue().splitlines()
    assert lines[0] == "<6>sync.worker: pushed 500 entries"
    assert lines[1] == "<4>sync.worker: push failed (network) for [phone]"
    assert lines[2] == "<3>sync.worker: cycle failed"
    assert all(line.startswith("<3>") for line in lines[3:])  # the traceback too
    assert "ValueError: card [card]" in lines[-1]


def test_elsewhere_each_line_starts_with_the_level(root_restored: None):
    out = io.StringIO()
    logs.configure(logging.INFO, stream=out, environ={})

    logging.getLogger("kiosk.ui").warning("reader %s lost", "nfc")

    assert out.getvalue() == "WARNING kiosk.ui: reader nfc lost\n"


def test_scheduled_jobs_log_their_failures_but_not_every_run(root_restored: None):
    """The sync service's jobs run every few seconds (the watchdog's ping more often): a
    line per run would bury what a technician looks for."""
    from apscheduler.schedulers.background import BackgroundScheduler

    out = io.StringIO()
    logs.configure(logging.INFO, stream=out, environ={})
    runs, failed = threading.Semaphore(0), threading.Event()

    def fine() -> None:
        runs.release()

    def broken() -> None:
        failed.set()
        raise RuntimeError("the CRM's answer made no sense")

    scheduler = BackgroundScheduler(timezone="UTC")
    scheduler.add_job(fine, "interval", seconds=0.05, misfire_grace_time=None)
    scheduler.add_job(broken, "date", misfire_grace_time=None)
    scheduler.start()
    try:
        assert all(runs.acquire(timeout=60) for _ in range(5)) and failed.wait(60)
    finally:
        scheduler.shutdown(wait=True)

    text = out.getvalue()
    assert "Running job" not in text and "executed successfully" not in text
    assert "ERROR apscheduler.executors.default: Job" in text  # the failure is there
    assert "RuntimeError: the CRM's answer made no sense" in text


def test_the_sync_service_logs_plain_levelled_lines_without_personal_data(tmp_path: Path):
    data = tmp_path / "data"
    with CrmServer(CrmStore(), faults=Faults.parse("5xx=1")) as crm:
        config_file = tmp_path / "kiosk.toml"
        config_file.write_text(f'[device]\nid = "kiosk-logs"\n[crm]\nurl = "{crm.url}"\n')
        service = Appliance(make_config('device.id="kiosk-logs"'), data).open_service()
        service.enroll("09121234567", client_txn_id="e-1", card="1A2B3C4D")
        service.close()
        from sync.client import CrmClient
        from sync.worker import save_secret

        config = make_config('device.id="kiosk-logs"', f'crm.url="{crm.url}"')
        save_secret(config.crm, data, CrmClient(crm.url, "kiosk-logs").enroll(crm.store.new_code()))
        run = subprocess.run(
            [sys.executable, "-m", "kiosk.cli", "sync", "--once", "--data-dir", str(data)],
            env={**os.environ, "KIOSK_CONFIG": str(config_file)},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    lines = [line for line in run.stderr.splitlines() if line.strip()]
    assert run.returncode == 1 and lines
    assert any(line.startswith("WARNING sync.worker: push failed (unavailable)") for line in lines)
    for secret in ("09121234567", "9121234567", "1A2B3C4D"):
        assert secret not in run.stderr + run.stdout
