"""A CRM that answers slowly, hugely or wrongly: the client gives up in time, keeps its
memory, and the worker acknowledges nothing it did not clearly hear."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from sim.crm import CrmServer
from sim.crm_faults import Faults
from sim.crm_store import CrmStore
from sync.client import MAX_ANSWER_BYTES, CrmClient, CrmError
from tests.test_sim_crm import HEARTBEAT, entry, member

DEVICE = "kiosk-limits"


@pytest.fixture
def crm() -> Iterator[CrmServer]:
    with CrmServer(CrmStore()) as server:
        yield server


def client_for(crm: CrmServer, timeout: tuple[float, float] = (1.0, 1.0)) -> CrmClient:
    client = CrmClient(crm.url, DEVICE, timeout=timeout)
    client.enroll(crm.store.new_code())
    return client


def test_an_answer_that_trickles_is_cut_off_at_the_deadline(crm: CrmServer):
    client = client_for(crm, timeout=(0.5, 0.5))
    crm.faults = Faults.parse("slow=1,drip=0.1")  # each byte within the read timeout

    started = time.monotonic()
    with pytest.raises(CrmError) as slow:
        client.push([member()], [entry(1)])
    took = time.monotonic() - started

    assert slow.value.code == "too_slow" and slow.value.retryable
    assert took < 5  # the whole answer would take about 6 s; the deadline is 1 s
    crm.faults = Faults()
    assert client.push([member()], [entry(1)]).duplicates == 1  # stored the first time


def test_a_huge_answer_is_not_read_into_memory(crm: CrmServer):
    client = client_for(crm)
    crm.faults = Faults.parse("huge=1")

    with pytest.raises(CrmError) as huge:
        client.push([member()], [entry(1)])

    assert huge.value.code == "answer_too_large" and huge.value.retryable
    assert MAX_ANSWER_BYTES < 20 * 1024 * 1024


@pytest.mark.parametrize("seed", range(8))
def test_garbage_is_a_bad_answer_and_never_an_acknowledgement(crm: CrmServer, seed: int):
    client = client_for(crm)
    crm.faults = Faults.parse(f"garbage=1,seed={seed}")
    crm.random.seed(seed)

    with pytest.raises(CrmError) as push:
        client.push([member()], [entry(1)])
    with pytest.raises(CrmError) as pull:
        client.changes(0)

    assert push.value.code == pull.value.code == "bad_answer"
    crm.faults = Faults()
    client.heartbeat(HEARTBEAT)  # the next request works
