"""Someone guessing enrollment codes is stopped: ten refused codes in ten minutes per source.

`hub serve` on loopback, requests from 127.0.0.1 and 127.0.0.2 (two sources on one
machine). Only refused codes count; a source that is held back is answered 429
`rate_limited` with `Retry-After`, even for a good code, which stays unspent. Every
answer is one docs/sync-openapi.yaml declares.
"""

from __future__ import annotations

import http.client
import json
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from email.message import Message
from typing import Any
from urllib.parse import urlsplit

import pytest

from sync.signing import PROTOCOL, PROTOCOL_VERSION
from tests.hub.conftest import Hub, HubServer
from tests.test_sync_openapi import Answer, Spec, load_document

SPEC = Spec(load_document())
MAX_FAILURES = 10  # refused codes a source may have in ten minutes (docs/hub.md)
WINDOW_SECONDS = 600
ATTACKER, NEIGHBOUR = "127.0.0.1", "127.0.0.2"
PROXY = "127.0.0.1"


@dataclass
class Heard:
    status: int
    code: str
    retry_after: str | None


@pytest.fixture
def hub_server(hub: Hub) -> Iterator[HubServer]:
    """`hub serve` with two worker processes: the race crosses processes, not only threads."""
    server = HubServer(hub, workers=2).start()
    yield server
    server.stop(graceful=False)


def enroll(
    server: HubServer, code: str, source: str = ATTACKER, forwarded: str | None = None
) -> Heard:
    """POST /v2/enroll from the `source` address, with an X-Forwarded-For if given."""
    where = urlsplit(server.url)
    connection = http.client.HTTPConnection(
        str(where.hostname), where.port, timeout=30, source_address=(source, 0)
    )
    body = json.dumps({"code": code, "device_id": f"kiosk-{uuid.uuid4().hex[:8]}"}).encode()
    headers = {PROTOCOL: PROTOCOL_VERSION, "Content-Type": "application/json"}
    if forwarded is not None:
        headers["X-Forwarded-For"] = forwarded
    try:
        connection.request("POST", "/v2/enroll", body=body, headers=headers)
        response = connection.getresponse()
        content = response.read()
        message = Message()
        for name, value in response.getheaders():
            message[name] = value
    finally:
        connection.close()
    SPEC.check(Answer(response.status, message, content), "POST", "/v2/enroll")
    payload: dict[str, Any] = json.loads(content)
    code_heard = payload["error"]["code"] if "error" in payload else "enrolled"
    return Heard(response.status, code_heard, message["Retry-After"])


def guess(server: HubServer, times: int, **where: str) -> list[tuple[int, str]]:
    return [
        (heard.status, heard.code)
        for heard in (enroll(server, f"WRNG-{i:04d}", **where) for i in range(times))
    ]


def state(hub: Hub, device: int) -> str:
    return str({d["device"]: d for d in hub.json("device", "list", "--json")}[device]["state"])


REFUSED = (403, "bad_enrollment_code")
LIMITED = (429, "rate_limited")


def test_someone_guessing_codes_is_stopped_and_a_good_code_from_there_waits_too(
    hub: Hub, hub_server: HubServer
):
    added = hub.new_device()

    guesses = guess(hub_server, MAX_FAILURES + 1)
    good = enroll(hub_server, added["code"])

    assert guesses == [REFUSED] * MAX_FAILURES + [LIMITED]
    assert (good.status, good.code) == LIMITED
    assert good.retry_after is not None
    assert 0 < int(good.retry_after) <= WINDOW_SECONDS
    assert state(hub, added["device"]) == "waiting"  # the code was not even tried


def test_the_source_may_try_again_once_its_failures_are_old(hub: Hub, hub_server: HubServer):
    added = hub.new_device()
    guess(hub_server, MAX_FAILURES)
    # Ten minutes pass (the hub's clock cannot be moved; its records can).
    hub.sql(
        "UPDATE hub_enrollment_failure SET failed_at = failed_at - %s * interval '1 second'",
        WINDOW_SECONDS,
    )

    again = enroll(hub_server, added["code"])

    assert (again.status, again.code) == (201, "enrolled")


def test_another_source_is_not_held_back(hub: Hub, hub_server: HubServer):
    added = hub.new_device()
    guess(hub_server, MAX_FAILURES + 1, source=ATTACKER)

    elsewhere = enroll(hub_server, added["code"], source=NEIGHBOUR)

    assert (elsewhere.status, elsewhere.code) == (201, "enrolled")
    assert state(hub, added["device"]) == "enrolled"


def test_only_refused_codes_count(hub: Hub, hub_server: HubServer):
    codes = [d["code"] for d in hub.new_devices(5)]
    before = guess(hub_server, MAX_FAILURES - 1)

    enrolled = [enroll(hub_server, code).status for code in codes]
    after = guess(hub_server, 2)

    assert before == [REFUSED] * (MAX_FAILURES - 1)
    assert enrolled == [201] * 5
    assert after == [REFUSED, LIMITED]


def test_guesses_sent_all_at_once_get_no_more_tries(hub: Hub, hub_server: HubServer):
    # Parallel connections (two gunicorn workers, threads each) cannot slip past the count.
    with ThreadPoolExecutor(8) as pool:
        heard = list(
            pool.map(lambda i: enroll(hub_server, f"PRLL-{i:04d}"), range(3 * MAX_FAILURES))
        )

    codes = [(h.status, h.code) for h in heard]
    assert codes.count(REFUSED) == MAX_FAILURES
    assert codes.count(LIMITED) == 2 * MAX_FAILURES


def test_x_forwarded_for_is_ignored_when_the_peer_is_no_trusted_proxy(
    hub: Hub, hub_server: HubServer
):
    guesses = [
        (h.status, h.code)
        for h in (
            enroll(hub_server, f"WRNG-{i:04d}", forwarded=f"198.51.100.{i}")
            for i in range(MAX_FAILURES + 1)
        )
    ]

    assert guesses == [REFUSED] * MAX_FAILURES + [LIMITED]


@dataclass
class BehindProxy(Hub):
    """The same hub, told that its loopback peer is its reverse proxy."""

    @property
    def env(self) -> dict[str, str]:
        return super().env | {"HUB_TRUSTED_PROXIES": f"{PROXY}/32,10.0.0.0/8"}


@pytest.fixture
def proxied(hub: Hub) -> Any:
    server = HubServer(BehindProxy(hub.postgres, hub.database, hub.data_dir)).start()
    yield server
    server.stop(graceful=False)


def test_behind_a_trusted_proxy_each_client_address_is_its_own_source(hub: Hub, proxied):
    added = hub.new_device()
    guesser = "203.0.113.7"

    # What the client writes into X-Forwarded-For itself comes first; the proxy appends
    # the address it saw (and a second proxy of ours its own): only that one counts.
    guesses = [
        (h.status, h.code)
        for h in (
            enroll(proxied, f"WRNG-{i:04d}", forwarded=f"198.51.100.{i}, {guesser}, 10.1.2.3")
            for i in range(MAX_FAILURES + 1)
        )
    ]
    other_client = enroll(proxied, added["code"], forwarded="203.0.113.8")

    assert guesses == [REFUSED] * MAX_FAILURES + [LIMITED]
    assert (other_client.status, other_client.code) == (201, "enrolled")
    sources = hub.sql("SELECT DISTINCT source FROM hub_enrollment_failure")
    assert sources == [(guesser,)]
