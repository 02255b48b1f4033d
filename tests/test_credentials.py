"""New credentials are used at once, by every process, and the secret's two spellings work.

A kiosk whose credentials the CRM refused stops pushing until a technician gives it new
ones (`kiosk provision` again, or `kiosk sync enroll`). From then on the waiting entries
leave: at the next `kiosk sync --once`, after a restart, and from a `kiosk sync` that was
already running, within the interval docs/cli.md promises. All against the simulated CRM
on loopback, with the command line as a technician types it.
"""

from __future__ import annotations

import base64
import io
import json
import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from kiosk.bootstrap import Appliance
from kiosk.cli import main
from kiosk.core.sync_status import StopReason, SyncStatus
from sim.crm import CrmServer
from sim.crm_store import CrmStore
from sync.client import CrmClient, CrmError
from sync.worker import SyncWorker, load_secret

DEVICE = "kiosk-renewed"
PIN = "2468"
WAIT = 60.0  # a safety limit, never a pace
# Scheduling and one push after the check that notices: what the promise may overrun by.
SLACK_SECONDS = 5.0


def documented_check_seconds() -> float:
    """How soon docs/cli.md promises that a running `kiosk sync` notices new credentials."""
    text = (Path(__file__).parent.parent / "docs" / "cli.md").read_text(encoding="utf-8")
    promise = re.search(r"A running\s+`kiosk sync`\s+notices\s+within\s+(\d+)\s+seconds", text)
    assert promise is not None, "docs/cli.md no longer says how soon kiosk sync notices"
    return float(promise.group(1))


@pytest.fixture
def crm() -> Iterator[CrmServer]:
    with CrmServer(CrmStore()) as server:
        yield server


@pytest.fixture
def data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A device as installed (its config file, no CRM yet); its data directory."""
    config = tmp_path / "kiosk.toml"
    config.write_text(f'[device]\nid = "{DEVICE}"\n[security]\npin_scrypt_n = 1024\n')
    monkeypatch.setenv("KIOSK_CONFIG", str(config))
    return tmp_path / "data"


def kiosk(data: Path, *argv: str, stdin: str = "") -> int:
    """`kiosk ARGV --data-dir DATA`, in this process, with `stdin` (PINs are read from it)."""
    saved = sys.stdin
    sys.stdin = io.StringIO(stdin)
    try:
        return main([*argv, "--data-dir", str(data)])
    finally:
        sys.stdin = saved


def kiosk_elsewhere(data: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    """`kiosk ARGV --data-dir DATA` in a process of its own (as a technician's shell runs it)."""
    return subprocess.run(
        [sys.executable, "-m", "kiosk.cli", *argv, "--data-dir", str(data)],
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=WAIT,
        check=False,
    )


def provisioned_with_a_sale(data: Path, crm: CrmServer, phone: str = "09121234567") -> None:
    """Provisioned at `crm` (the technician's PIN set on the way), one member enrolled."""
    code = crm.store.new_code()
    assert kiosk(data, "provision", "--crm", crm.url, "--code", code, stdin=f"{PIN}\n{PIN}\n") == 0
    assert kiosk(data, "member", "enroll", "--phone", phone) == 0


def refused(data: Path, crm: CrmServer, capsys: pytest.CaptureFixture[str]) -> None:
    """The CRM revokes this kiosk; `kiosk sync --once` is refused and says so."""
    crm.store.revoke(DEVICE)
    capsys.readouterr()
    assert kiosk(data, "sync", "--once") == 1
    assert "credentials" in capsys.readouterr().out
    assert sync_status(data, capsys)["credentials_refused"] is True


def sync_status(data: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    capsys.readouterr()
    assert kiosk(data, "sync", "status", "--json") == 0
    status: dict[str, Any] = json.loads(capsys.readouterr().out)
    return status


def local_entry_ids(data: Path) -> list[str]:
    service = Appliance.load(data_dir=str(data)).open_service(create=False)
    try:
        return [entry.entry_id for entry in service.ledger.entries()]
    finally:
        service.close()


def renew(data: Path, crm: CrmServer, how: str) -> list[str]:
    """The command line that gives this kiosk new credentials with a fresh code."""
    code = crm.store.new_code()
    if how == "provision":
        return ["provision", "--crm", crm.url, "--code", code]
    return ["sync", "enroll", code]


# -- 1. new credentials are used -------------------------------------------------------------


@pytest.mark.parametrize("how", ["provision", "sync enroll"])
def test_a_revoked_kiosk_given_new_credentials_pushes_its_waiting_entries(data, crm, capsys, how):
    provisioned_with_a_sale(data, crm)
    refused(data, crm, capsys)
    assert kiosk(data, "member", "enroll", "--phone", "09351234567") == 0  # waits meanwhile

    assert kiosk(data, *renew(data, crm, how)) == 0
    if how == "provision":
        assert "credentials renewed" in capsys.readouterr().out
    status = sync_status(data, capsys)
    pushed = kiosk(data, "sync", "--once")
    said = capsys.readouterr()

    assert pushed == 0, said
    assert status["credentials_refused"] is False  # what the technician sees at once
    assert "push empty" in said.out
    assert crm.store.entry_ids(DEVICE) == local_entry_ids(data)
    after = sync_status(data, capsys)
    assert (after["queue_depth"], after["credentials_refused"]) == (0, False)


def test_a_kiosk_refused_again_with_its_old_secret_is_not_stuck_after_a_restart(data, crm, capsys):
    provisioned_with_a_sale(data, crm)
    appliance = Appliance.load(data_dir=str(data))
    old = load_secret(appliance.config.crm, data, appliance.key_source())
    refused(data, crm, capsys)
    assert kiosk(data, "sync", "enroll", crm.store.new_code()) == 0
    # A `kiosk sync` started before the enrollment signs once more with the old secret:
    # the CRM refuses it (401 bad_signature), and the refusal is written again.
    service = appliance.open_service(create=False)
    stale = SyncWorker(service, CrmClient(crm.url, DEVICE, old), service.config.crm)
    assert stale.drain().stopped == StopReason.CREDENTIALS
    assert stale.state.get("last_error_code") == "bad_signature"
    service.close()

    restarted = kiosk(data, "sync", "--once")  # systemd restarts it, or a technician runs it
    said = capsys.readouterr()

    assert restarted == 0, said
    assert crm.store.entry_ids(DEVICE) == local_entry_ids(data)
    assert sync_status(data, capsys)["credentials_refused"] is False


@pytest.mark.parametrize("how", ["provision", "sync enroll"])
def test_a_running_sync_that_was_refused_resumes_within_the_documented_interval(
    data, crm, capsys, how
):
    provisioned_with_a_sale(data, crm)
    crm.store.revoke(DEVICE)
    appliance = Appliance.load(data_dir=str(data))  # as `kiosk sync` builds it
    statuses: list[SyncStatus] = []
    was_refused, drained = threading.Event(), threading.Event()

    def reported(status: SyncStatus) -> None:
        statuses.append(status)
        if status.stopped == StopReason.CREDENTIALS:
            was_refused.set()
        if status.stopped == StopReason.EMPTY and status.queue_depth == 0:
            drained.set()

    background = appliance.background_sync(on_status=reported)
    assert background is not None
    background.start()
    try:
        assert was_refused.wait(WAIT), f"the revocation was never seen: {statuses}"
        assert kiosk(data, "member", "enroll", "--phone", "09351234567") == 0
        renewed = kiosk_elsewhere(data, *renew(data, crm, how))
        assert renewed.returncode == 0, renewed.stderr
        since = time.monotonic()

        resumed = drained.wait(documented_check_seconds() + SLACK_SECONDS)
        took = time.monotonic() - since
    finally:
        background.stop()

    assert resumed, f"still not pushing {took:.1f} s after the new credentials: {statuses[-3:]}"
    assert crm.store.entry_ids(DEVICE) == local_entry_ids(data)
    assert sync_status(data, capsys)["credentials_refused"] is False


# -- 2. the secret's base64url, with or without its padding -----------------------------------


class _EnrollOnly(BaseHTTPRequestHandler):
    """A CRM that answers every enrollment with the secret text it is given."""

    server: _AnsweringServer

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        body = json.dumps(
            {
                "device_id": DEVICE,
                "secret": self.server.secret,
                "server_time": "2026-03-01T09:00:00Z",
            }
        ).encode()
        self.send_response(201)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _AnsweringServer(ThreadingHTTPServer):
    secret = ""


@pytest.fixture
def enroll_answering() -> Iterator[Callable[[str], str]]:
    """Serve enrollment answers with a given secret text on loopback; returns the URL."""
    server = _AnsweringServer(("127.0.0.1", 0), _EnrollOnly)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()

    def answering(secret: str) -> str:
        server.secret = secret
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield answering
    server.shutdown()
    server.server_close()
    thread.join(WAIT)


RAW = bytes(range(1, 33))  # 32 bytes: base64url is 43 characters and one "="
PADDED = base64.urlsafe_b64encode(RAW).decode()


@pytest.mark.parametrize("text", [PADDED, PADDED.rstrip("=")], ids=["padded", "unpadded"])
def test_the_enrollment_secret_is_taken_with_or_without_its_padding(enroll_answering, text):
    client = CrmClient(enroll_answering(text), DEVICE)

    assert client.enroll("K7Q2-M9XA") == RAW
    assert client.secret == RAW


@pytest.mark.parametrize(
    "text",
    [
        pytest.param(base64.urlsafe_b64encode(bytes(16)).decode(), id="16 bytes"),
        pytest.param(base64.urlsafe_b64encode(bytes(31)).decode(), id="31 bytes"),
        pytest.param(base64.urlsafe_b64encode(bytes(33)).decode(), id="33 bytes"),
        pytest.param(base64.urlsafe_b64encode(bytes(48)).decode().rstrip("="), id="48 bytes"),
        pytest.param(PADDED + "=", id="two ="),
        pytest.param(PADDED[:10] + "+" + PADDED[11:], id="base64, not base64url"),
        pytest.param("not a secret at all, but 43 characters long", id="not base64"),
        pytest.param("", id="empty"),
    ],
)
def test_an_enrollment_secret_that_is_not_32_bytes_of_base64url_is_refused(enroll_answering, text):
    client = CrmClient(enroll_answering(text), DEVICE)

    with pytest.raises(CrmError) as refused:
        client.enroll("K7Q2-M9XA")

    assert refused.value.code == "bad_answer"
    assert client.secret is None


def test_kiosk_sync_enroll_keeps_an_unpadded_secret(data, enroll_answering, capsys):
    url = enroll_answering(PADDED.rstrip("="))

    enrolled = kiosk(data, "sync", "enroll", "K7Q2-M9XA", "-o", f'crm.url="{url}"')

    assert enrolled == 0, capsys.readouterr().err
    appliance = Appliance.load(data_dir=str(data))
    assert load_secret(appliance.config.crm, data, appliance.key_source()) == RAW


@pytest.mark.parametrize("where", ["secret file", "crm.device_secret"])
def test_a_secret_written_down_without_padding_signs_what_the_crm_checks(data, crm, capsys, where):
    # The HMAC key is the 32 bytes, not their text: the CRM checks with the bytes it made.
    provisioned_with_a_sale(data, crm)
    secret_file = data / "crm-secret"
    assert secret_file.read_text().startswith("sealed:")  # not in clear on the card
    secret = crm.store.secret_of(DEVICE)
    assert secret is not None
    unpadded = base64.urlsafe_b64encode(secret).decode().rstrip("=")
    options: list[str] = []
    if where == "secret file":
        secret_file.write_text(unpadded)  # copied by hand from the CRM's screen
    else:
        secret_file.unlink()
        options = ["-o", f'crm.device_secret="{unpadded}"']

    pushed = kiosk(data, "sync", "--once", *options)

    assert pushed == 0, capsys.readouterr()
    assert crm.store.entry_ids(DEVICE) == local_entry_ids(data)
