"""A kiosk whose clock is 400 s off, and the CRM's Retry-After, against the simulated CRM.

The CRM refuses a signature more than 300 s from its clock (`signature_expired`). That is
no refusal of the secret: the kiosk backs off, signs its next request with the offset the
answer's Date gave, and keeps the offset for the next process. A Retry-After holds every
request of the device, `kiosk sync --once` included; the backoff after other failures
holds pushes and pulls only.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from kiosk.core.clock import ManualClock
from kiosk.core.service import LoyaltyService
from kiosk.core.store.staff import CLI
from sim.crm import CrmServer
from sim.crm_store import CrmStore
from sync.client import CrmClient, CrmError
from sync.worker import SyncWorker
from tests.conftest import Seconds, make_config

SKEW = 400.0  # beyond the CRM's window of 300 s
PHONE = "09121234567"


@pytest.fixture
def kiosk(tmp_path: Path, clock: ManualClock) -> Iterator[LoyaltyService]:
    config = make_config("crm.backoff_base_seconds=1", "crm.backoff_cap_seconds=4")
    service = LoyaltyService.open(tmp_path / "data", config, clock=clock)
    yield service
    service.close()


def sales(service: LoyaltyService, count: int, first: int = 0) -> str:
    """A member (enrolled the first time) and `count` more entries of theirs."""
    found = service.conn.execute("SELECT member_id FROM members").fetchone()
    member_id = found[0] if found else service.enroll(PHONE, client_txn_id="e1").member_id
    for i in range(first, first + count):
        service.adjust(member_id, 10 + i, reason="test", actor=CLI, client_txn_id=f"a-{i}")
    return str(member_id)


def local_entry_ids(service: LoyaltyService) -> list[str]:
    return [e.entry_id for e in service.ledger.entries()]


def behind(seconds: float) -> Callable[[], float]:
    return lambda: time.time() - seconds


def client_for(crm: CrmServer, service: LoyaltyService, kiosk_clock: Callable[[], float] | None):
    """A client of this kiosk (on its own clock, when one is given)."""
    if kiosk_clock is None:
        return CrmClient(crm.url, service.device_id)
    return CrmClient(crm.url, service.device_id, clock=kiosk_clock)


def last_heartbeat(crm: CrmServer, device_id: str) -> dict[str, object]:
    row = crm.store.conn.execute(
        "SELECT last_heartbeat FROM devices WHERE device_id = ?", (device_id,)
    ).fetchone()
    return dict(json.loads(row[0]))


# The kiosk 400 s behind, or (the same seen from the kiosk) the CRM 400 s ahead.
SKEWS = {
    "kiosk clock 400 s behind": (behind(SKEW), time.time),
    "CRM clock 400 s ahead": (None, lambda: time.time() + SKEW),
}


@pytest.mark.parametrize("skew", list(SKEWS), ids=list(SKEWS))
def test_a_kiosk_400_s_off_is_refused_once_then_recovers_by_itself(
    kiosk: LoyaltyService, skew: str
) -> None:
    kiosk_clock, crm_clock = SKEWS[skew]
    sales(kiosk, 3)
    seconds = Seconds()
    with CrmServer(CrmStore(), clock=crm_clock) as crm:
        # Enrolled long ago; since, the clocks have drifted apart (a Raspberry Pi has no
        # battery clock: after a power cut it starts at the time it last saved).
        secret = CrmClient(crm.url, kiosk.device_id).enroll(crm.store.new_code())
        client = client_for(crm, kiosk, kiosk_clock)
        client.secret = secret
        worker = SyncWorker(kiosk, client, kiosk.config.crm, clock=seconds, jitter=lambda: 1.0)

        first = worker.drain()

        assert first.stopped == "backoff", first
        status = worker.status()
        assert status.last_error_code == "signature_expired"
        assert not status.credentials_refused
        assert not worker.due()
        assert crm.store.entry_ids(kiosk.device_id) == []

        seconds.now += 1  # the backoff: 1 s * 2**0, full jitter at its top
        second = worker.drain()

        assert second.stopped == "empty", second
        assert crm.store.entry_ids(kiosk.device_id) == local_entry_ids(kiosk)  # each once
        assert abs(float(worker.status().clock_offset_seconds or 0) - SKEW) < 3

        # A new process (`kiosk sync --once`): a new client that has heard nothing yet
        # signs right from its first request, with the offset kept in the database.
        sales(kiosk, 1, first=3)
        fresh = client_for(crm, kiosk, kiosk_clock)
        fresh.secret = secret
        once = SyncWorker(kiosk, fresh, kiosk.config.crm, clock=seconds)
        asked = crm.requests

        assert once.drain(ignore_backoff=True).stopped == "empty"
        assert once.pull().stopped == "done"
        assert once.heartbeat()

        assert crm.requests == asked + 3  # push, pull, heartbeat: none refused, none again
        assert crm.store.entry_ids(kiosk.device_id) == local_entry_ids(kiosk)
        offset_ms = last_heartbeat(crm, kiosk.device_id)["clock_offset_ms"]
        assert isinstance(offset_ms, int) and abs(offset_ms - SKEW * 1000) < 3000


def test_the_heartbeat_carries_the_offset_once_any_answer_had_a_date(
    kiosk: LoyaltyService,
) -> None:
    with CrmServer(CrmStore()) as crm:
        secret = client_for(crm, kiosk, None).enroll(crm.store.new_code())

        def process(kiosk_clock: Callable[[], float] | None) -> SyncWorker:
            """A new `kiosk sync --once`: a new client that has heard no answer yet."""
            client = client_for(crm, kiosk, kiosk_clock)
            client.secret = secret
            return SyncWorker(kiosk, client, kiosk.config.crm)

        # No answer was ever heard: null, the only time it may be.
        assert process(None).heartbeat()
        assert last_heartbeat(crm, kiosk.device_id)["clock_offset_ms"] in (None, 0)
        # The kiosk's clock jumps 400 s back: refused once, the Date of that answer is kept.
        refused = process(behind(SKEW))
        assert not refused.heartbeat()
        assert not refused.status().credentials_refused
        # The next process signs right at once and says how far off its clock is.
        assert process(behind(SKEW)).heartbeat()

        offset_ms = last_heartbeat(crm, kiosk.device_id)["clock_offset_ms"]
        assert isinstance(offset_ms, int) and abs(offset_ms - SKEW * 1000) < 3000


@pytest.mark.parametrize("code", ["signature_expired", "replayed"])
def test_a_refused_time_or_nonce_is_retried_and_is_no_refusal_of_the_credentials(code: str):
    error = CrmError("refused", status=401, code=code)

    assert error.retryable and not error.credentials


@pytest.mark.parametrize("code", ["unknown_device", "bad_signature", "device_revoked"])
def test_a_refused_secret_stops_syncing(code: str):
    error = CrmError("refused", status=403 if code == "device_revoked" else 401, code=code)

    assert error.credentials and not error.retryable


def test_a_retry_after_holds_every_request_of_the_device_even_sync_once(kiosk: LoyaltyService):
    sales(kiosk, 1)
    seconds = Seconds()
    with CrmServer(CrmStore()) as crm:
        client = client_for(crm, kiosk, None)
        client.enroll(crm.store.new_code())
        worker = SyncWorker(kiosk, client, kiosk.config.crm, clock=seconds, jitter=lambda: 0.0)
        crm.faults.rates["429"] = 1.0  # "slow down", Retry-After: 1
        assert worker.drain().stopped == "backoff"
        crm.faults.rates["429"] = 0.0
        asked = crm.requests

        pulled = worker.pull()
        beat = worker.heartbeat()
        once = worker.drain(ignore_backoff=True)  # what `kiosk sync --once` does

        assert (pulled.stopped, beat, once.stopped) == ("backoff", False, "backoff")
        assert "Retry-After" in once.error
        assert crm.requests == asked  # nothing was sent while it held
        seconds.now += 1
        assert worker.drain(ignore_backoff=True).stopped == "empty"
        assert worker.pull().stopped == "done"
        assert worker.heartbeat()


def test_the_backoff_after_a_failure_holds_neither_the_heartbeat_nor_sync_once(
    kiosk: LoyaltyService,
):
    sales(kiosk, 1)
    seconds = Seconds()
    with CrmServer(CrmStore()) as crm:
        client = client_for(crm, kiosk, None)
        client.enroll(crm.store.new_code())
        worker = SyncWorker(kiosk, client, kiosk.config.crm, clock=seconds, jitter=lambda: 1.0)
        crm.faults.rates["reset"] = 1.0  # stored, then no answer: no Retry-After either
        assert worker.drain().stopped == "backoff"
        crm.faults.rates["reset"] = 0.0

        assert not worker.due() and worker.drain().stopped == "backoff"
        assert worker.heartbeat()  # its own schedule: not a retry of the push
        assert worker.drain(ignore_backoff=True).stopped == "empty"
        assert crm.store.entry_ids(kiosk.device_id) == local_entry_ids(kiosk)
