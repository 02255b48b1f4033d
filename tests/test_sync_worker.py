"""The sync worker against the simulated CRM over loopback: no loss, no duplicate, ever."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from kiosk.cli import main
from kiosk.core.clock import ManualClock
from kiosk.core.service import LoyaltyService
from kiosk.core.store.staff import CLI
from kiosk.core.store.verify import verify_ledger
from sim.crm import CrmServer
from sim.crm_faults import Faults
from sim.crm_store import CrmStore
from sync.client import CrmClient, CrmError
from sync.worker import SyncWorker, save_secret
from tests.conftest import Seconds, make_config

WAIT = 60.0  # a safety limit, never a pace


@pytest.fixture
def crm() -> Iterator[CrmServer]:
    with CrmServer(CrmStore()) as server:
        yield server


def dead_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@pytest.fixture
def kiosk(tmp_path: Path, clock: ManualClock) -> Iterator[LoyaltyService]:
    config = make_config(
        "crm.backoff_base_seconds=1", "crm.backoff_cap_seconds=4", "crm.batch_size=100"
    )
    service = LoyaltyService.open(tmp_path / "data", config, clock=clock)
    yield service
    service.close()


def enrolled_client(crm: CrmServer, service: LoyaltyService, **kwargs) -> CrmClient:
    client = CrmClient(crm.url, service.device_id, **kwargs)
    client.enroll(crm.store.new_code())
    return client


def worker_for(
    service: LoyaltyService, client: CrmClient | None, seconds: Seconds, jitter: float = 1.0
) -> SyncWorker:
    return SyncWorker(service, client, service.config.crm, clock=seconds, jitter=lambda: jitter)


def sales(service: LoyaltyService, clock: ManualClock, members: int, earns_each: int) -> None:
    """Enroll members and record purchases, the clock moving on (limits never bite)."""
    ids = []
    for i in range(members):
        ids.append(
            service.enroll(
                f"0912{1000000 + i:07d}", client_txn_id=f"e-{i}", card=f"{0x1A000000 + i:08X}"
            ).member_id
        )
    for round_ in range(earns_each):
        clock.advance(hours=5)
        for i, member_id in enumerate(ids):
            service.earn(member_id, 1_000_000 + i, cashier=CLI, client_txn_id=f"t-{round_}-{i}")


def local_entry_ids(service: LoyaltyService) -> list[str]:
    return [e.entry_id for e in service.ledger.entries()]


def depth(service: LoyaltyService) -> int:
    return int(
        service.conn.execute("SELECT COUNT(*) FROM outbox WHERE state = 'pending'").fetchone()[0]
    )


def test_a_week_offline_then_the_queue_drains_in_order(kiosk, clock, crm):
    seconds = Seconds()
    offline = worker_for(kiosk, CrmClient(dead_url(), kiosk.device_id, b"k" * 32), seconds)
    for day in range(7):
        if day == 0:
            sales(kiosk, clock, members=10, earns_each=2)
        else:
            sales_more(kiosk, clock, day)
        seconds.now += 24 * 3600
        result = offline.drain()
        assert result.stopped == "backoff"
    assert depth(kiosk) == len(local_entry_ids(kiosk)) > 100
    assert offline.status().last_error_code == "network"

    online = worker_for(kiosk, enrolled_client(crm, kiosk), seconds)
    seconds.now += 10
    result = online.drain()

    assert result.stopped == "empty"
    assert result.batches >= 2  # batches of 100
    assert depth(kiosk) == 0
    assert crm.store.entry_ids(kiosk.device_id) == local_entry_ids(kiosk)
    view = crm.store.view()
    assert view["devices"][kiosk.device_id]["high_water"] == len(local_entry_ids(kiosk))
    assert len(view["members"]) == 10 + 6 * 4
    assert online.status().last_success_at is not None


def sales_more(service: LoyaltyService, clock: ManualClock, day: int) -> None:
    """A day of trade: 4 new members, 4 purchases each."""
    ids = [
        service.enroll(
            f"0935{2000000 + day * 10 + i:07d}", client_txn_id=f"day-{day}-{i}"
        ).member_id
        for i in range(4)
    ]
    for round_ in range(4):
        clock.advance(minutes=30)
        for i, member_id in enumerate(ids):
            service.earn(member_id, 500_000, cashier=CLI, client_txn_id=f"day-{day}-{round_}-{i}")


def test_a_chaos_run_ends_with_the_same_ledger_at_the_crm(kiosk, clock):
    sales(kiosk, clock, members=20, earns_each=20)  # 420 entries
    faults = Faults.parse("5xx=0.1,429=0.05,timeout=0.05,reset=0.05,partial=0.05,hang=0.3,seed=11")
    seconds = Seconds()
    with CrmServer(CrmStore(), faults=faults) as crm:
        client = CrmClient(crm.url, kiosk.device_id, timeout=(1.0, 0.2))
        crm.faults.rates, saved = {}, crm.faults.rates
        client.enroll(crm.store.new_code())
        crm.faults.rates = saved
        small = dataclasses.replace(kiosk.config.crm, batch_size=20)  # many requests
        worker = SyncWorker(kiosk, client, small, clock=seconds, jitter=lambda: 0.5)
        rounds = 0
        while depth(kiosk) and rounds < 500:
            seconds.now += 1000  # past any backoff
            worker.drain()
            rounds += 1

        held = crm.store.entries(kiosk.device_id)
        injected = crm.faults_injected

    assert depth(kiosk) == 0
    local = [entry.as_dict() for entry in kiosk.ledger.entries()]
    assert held == local  # entry for entry, field for field, in order: no loss, no duplicate
    assert injected >= 5  # about 30% of some 30 requests
    assert verify_ledger(kiosk.conn).ok


def test_credentials_refused_stop_pushing_and_keep_everything(kiosk, clock, crm):
    sales(kiosk, clock, members=3, earns_each=1)
    seconds = Seconds()
    worker = worker_for(kiosk, enrolled_client(crm, kiosk), seconds)
    crm.store.revoke(kiosk.device_id)

    first = worker.drain()
    requests_after_refusal = crm.requests
    seconds.now += 3600
    second = worker.drain()

    assert (first.stopped, second.stopped) == ("credentials", "credentials")
    assert crm.requests == requests_after_refusal  # no hammering with bad credentials
    assert worker.status().credentials_refused is True
    assert depth(kiosk) == 6

    assert worker.client is not None
    worker.client.enroll(crm.store.new_code())
    worker.reset_credentials()
    assert worker.drain().stopped == "empty"
    assert depth(kiosk) == 0


def test_a_rejected_entry_is_kept_flagged_and_shown(kiosk, clock, crm):
    sales(kiosk, clock, members=1, earns_each=2)
    kiosk.conn.execute("DELETE FROM member_outbox")  # the CRM never hears of the member
    worker = worker_for(kiosk, enrolled_client(crm, kiosk), Seconds())

    result = worker.drain()

    assert result.stopped == "empty" and result.rejected == 3
    status = worker.status()
    assert (status.queue_depth, status.rejected) == (0, 3)
    assert [r["code"] for r in worker.outbox.rejected()] == ["unknown_member"] * 3
    kept = kiosk.conn.execute("SELECT COUNT(*) FROM outbox WHERE state = 'rejected'").fetchone()[0]
    assert kept == 3 and len(local_entry_ids(kiosk)) == 3


def test_a_rejection_whose_answer_was_lost_is_flagged_after_the_retry(kiosk, clock, crm):
    sales(kiosk, clock, members=1, earns_each=2)
    kiosk.conn.execute("DELETE FROM member_outbox")  # the CRM never hears of the member
    seconds = Seconds()
    worker = worker_for(kiosk, enrolled_client(crm, kiosk), seconds)
    crm.faults.rates["reset"] = 1.0  # stored at the CRM, then the connection drops

    lost = worker.drain()
    crm.faults.rates.clear()
    seconds.now += 3600
    retried = worker.drain()

    assert lost.stopped == "backoff" and crm.store.view()["devices"][kiosk.device_id]["entries"]
    assert (retried.stopped, retried.acknowledged, retried.rejected) == ("empty", 0, 3)
    assert [r["code"] for r in worker.outbox.rejected()] == ["unknown_member"] * 3
    assert worker.status().rejected == 3


def test_retry_after_is_honoured_and_the_next_attempt_survives_a_restart(kiosk, clock):
    sales(kiosk, clock, members=1, earns_each=1)
    seconds = Seconds()
    with CrmServer(CrmStore()) as crm:
        client = enrolled_client(crm, kiosk)
        crm.faults.rates["429"] = 1.0
        worker = worker_for(kiosk, client, seconds, jitter=0.0)

        assert worker.drain().stopped == "backoff"

        restarted = worker_for(kiosk, client, seconds, jitter=0.0)
        assert not restarted.due()
        seconds.now += 1  # Retry-After: 1
        assert restarted.due()


def test_backoff_grows_with_full_jitter_up_to_the_cap(kiosk, clock):
    sales(kiosk, clock, members=1, earns_each=0)
    seconds = Seconds()
    worker = worker_for(
        kiosk, CrmClient(dead_url(), kiosk.device_id, b"k" * 32), seconds, jitter=1.0
    )
    delays = []
    for _ in range(5):
        worker.drain(ignore_backoff=True)
        delays.append(round(worker.state.get("next_attempt_at") - seconds.now, 3))

    assert delays == [1, 2, 4, 4, 4]
    half = worker_for(kiosk, worker.client, seconds, jitter=0.5)
    half.drain(ignore_backoff=True)
    assert round(half.state.get("next_attempt_at") - seconds.now, 3) == 2  # 0.5 * cap


def test_the_environment_cannot_redirect_the_client(kiosk, clock, crm, monkeypatch):
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy"):
        monkeypatch.setenv(name, "http://127.0.0.1:9")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/nonexistent/ca.pem")
    sales(kiosk, clock, members=1, earns_each=0)

    result = worker_for(kiosk, enrolled_client(crm, kiosk), Seconds()).drain()

    assert result.stopped == "empty"


def test_members_changed_here_reach_the_crm_and_erasure_too(kiosk, clock, crm):
    member_id = kiosk.enroll("09121234567", client_txn_id="e1", name="Sara").member_id
    worker = worker_for(kiosk, enrolled_client(crm, kiosk), Seconds())
    worker.drain()
    kiosk.link_card(member_id, "C0C0C0C0", actor=CLI)
    worker.drain()
    assert crm.store.view()["members"][member_id]["cards"] == [
        {"uid": "C0C0C0C0", "status": "active"}
    ]

    kiosk.erase(member_id, actor=CLI)
    worker.drain()

    assert crm.store.view()["members"][member_id] == {
        "member_id": member_id,
        "status": "erased",
        "created_at": crm.store.view()["members"][member_id]["created_at"],
        "updated_at": crm.store.view()["members"][member_id]["updated_at"],
    }
    assert kiosk.conn.execute("SELECT COUNT(*) FROM member_outbox").fetchone()[0] == 0


# -- the command, as systemd and a technician run it -------------------------------------------


@pytest.fixture
def cli_env(tmp_path: Path, crm: CrmServer, monkeypatch) -> Callable[[], dict[str, str]]:
    config = tmp_path / "kiosk.toml"
    config.write_text(f'[device]\nid = "kiosk-cli"\n[crm]\nurl = "{crm.url}"\n')
    monkeypatch.setenv("KIOSK_CONFIG", str(config))
    return lambda: {**os.environ, "KIOSK_CONFIG": str(config)}


def test_sync_enroll_once_and_status(cli_env, crm, tmp_path, capsys):
    data = tmp_path / "data"
    assert main(["member", "enroll", "--phone", "09121234567", "--data-dir", str(data)]) == 0
    capsys.readouterr()

    assert main(["sync", "enroll", crm.store.new_code(), "--data-dir", str(data)]) == 0
    assert oct((data / "crm-secret").stat().st_mode & 0o777) == "0o600"
    assert main(["sync", "--once", "--data-dir", str(data)]) == 0
    capsys.readouterr()
    assert main(["sync", "status", "--json", "--data-dir", str(data)]) == 0
    status = json.loads(capsys.readouterr().out)

    assert status["queue_depth"] == 0 and status["last_success_at"]
    assert crm.store.view()["devices"]["kiosk-cli"]["high_water"] == 1


def test_a_worker_killed_in_the_middle_of_a_batch_loses_and_doubles_nothing(
    cli_env, tmp_path, clock
):
    data = tmp_path / "data"
    with CrmServer(CrmStore(), faults=Faults.parse("latency=0.3")) as crm:
        env = cli_env()
        config = Path(env["KIOSK_CONFIG"])
        config.write_text(
            f'[device]\nid = "kiosk-cli"\n[crm]\nurl = "{crm.url}"\nbatch_size = 50\n'
        )
        service = LoyaltyService.open(data, make_config('device.id="kiosk-cli"'), clock=clock)
        sales(service, clock, members=10, earns_each=10)  # 110 entries, 3 batches
        code = crm.store.new_code()
        save_secret(service.config.crm, data, CrmClient(crm.url, "kiosk-cli").enroll(code))
        arrived = threading.Event()
        crm.on_request = lambda path: arrived.set() if path == "/v2/push" else None

        child = subprocess.Popen(
            [sys.executable, "-m", "kiosk.cli", "sync", "--once", "--data-dir", str(data)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        assert arrived.wait(WAIT), "the worker never pushed"
        child.send_signal(signal.SIGKILL)  # power cut, in the middle of a batch
        child.wait(WAIT)
        crm.on_request = None

        again = subprocess.run(
            [sys.executable, "-m", "kiosk.cli", "sync", "--once", "--data-dir", str(data)],
            env=env,
            capture_output=True,
            text=True,
            timeout=WAIT,
            check=False,
        )
        held = crm.store.entry_ids("kiosk-cli")

    assert again.returncode == 0, again.stderr
    assert held == local_entry_ids(service)
    assert depth(service) == 0
    service.close()


def test_kiosk_sync_runs_in_the_foreground_and_stops_cleanly_on_sigterm(cli_env, tmp_path, clock):
    data = tmp_path / "data"
    with CrmServer(CrmStore()) as crm:
        env = cli_env()
        Path(env["KIOSK_CONFIG"]).write_text(
            f'[device]\nid = "kiosk-cli"\n[crm]\nurl = "{crm.url}"\n'
        )
        service = LoyaltyService.open(data, make_config('device.id="kiosk-cli"'), clock=clock)
        sales(service, clock, members=3, earns_each=2)
        save_secret(
            service.config.crm, data, CrmClient(crm.url, "kiosk-cli").enroll(crm.store.new_code())
        )
        seen: set[str] = set()
        both = threading.Event()

        def heard(path: str) -> None:
            seen.add(path)
            if {"/v2/push", "/v2/changes"} <= seen:
                both.set()

        crm.on_request = heard
        child = subprocess.Popen(
            [sys.executable, "-m", "kiosk.cli", "sync", "--data-dir", str(data)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert both.wait(WAIT), "the worker neither pushed nor pulled"
        child.send_signal(signal.SIGTERM)
        _out, err = child.communicate(timeout=WAIT)
        held = crm.store.entry_ids("kiosk-cli")

    assert child.returncode == 0, err
    assert held == local_entry_ids(service)
    service.close()


# -- TLS ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def certificate(tmp_path_factory) -> tuple[Path, Path]:
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed: the TLS test makes its own certificate with it")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-days",
            "2",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


def test_tls_is_verified_and_a_private_ca_is_an_option(certificate, monkeypatch):
    cert, _key = certificate
    # The environment must not make an unknown certificate acceptable behind our back.
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(cert))
    monkeypatch.setenv("CURL_CA_BUNDLE", str(cert))
    with CrmServer(CrmStore(), tls=certificate) as crm:
        assert crm.url.startswith("https://")
        code = crm.store.new_code()

        with pytest.raises(CrmError) as refused:
            CrmClient(crm.url, "kiosk-tls").enroll(code)
        trusting = CrmClient(crm.url, "kiosk-tls", ca_bundle=str(cert))
        trusting.enroll(code)
        trusting.heartbeat(
            {
                "version": "test",
                "queue_depth": 0,
                "oldest_unsynced_at": None,
                "readers": [],
                "disk_free_bytes": 1,
                "clock_offset_ms": None,
            }
        )

    assert refused.value.code == "network" and "SSLError" in str(refused.value)
