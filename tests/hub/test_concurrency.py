"""Several hub processes on one database: nothing lost, nothing twice, no change skipped.

Two `hub serve` instances (two gunicorn workers each) share one PostgreSQL database. Six
devices push the same members' sales, every batch sent to both servers at once (a retry
racing the original), while a kiosk-like reader follows the change feed by its cursor.
"""

from __future__ import annotations

import threading
from collections import Counter, defaultdict
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from tests.hub.conftest import Hub, HubServer
from tests.hub.wire import Server, Wire, member, outcome

DEVICES = 6
BATCHES = 8
PER_BATCH = 15
MEMBERS = [f"m-shared-{i}" for i in range(5)]


@pytest.fixture
def two_servers(hub: Hub) -> Iterator[tuple[Server, Server]]:
    first, second = HubServer(hub, workers=2).start(), HubServer(hub, workers=2).start()
    yield Server("hub", first.url, hub=hub), Server("hub", second.url, hub=hub)
    first.stop(graceful=False)
    second.stop(graceful=False)


def sales(wire: Wire, batch: int) -> list[dict[str, Any]]:
    first = batch * PER_BATCH + 1
    return [
        wire.entry(seq, MEMBERS[seq % len(MEMBERS)], points=seq % 7 + 1)
        for seq in range(first, first + PER_BATCH)
    ]


def test_concurrent_pushes_to_two_hubs_store_each_entry_once_and_the_feed_misses_nothing(
    hub: Hub, two_servers: tuple[Server, Server]
):
    one, other = two_servers
    wires = [Wire(one) for _ in range(DEVICES)]
    wires[0].push([], [member(m) for m in MEMBERS])
    done = threading.Event()
    followed: list[dict[str, Any]] = []

    def follow() -> None:
        # As a kiosk pulls: from its cursor, page after page, while the pushes go on.
        reader, cursor = Wire(other), 0
        while True:
            finished = done.is_set()
            page = reader.changes(cursor, limit=50)
            followed.extend(page["changes"])
            cursor = page["next_cursor"]
            if finished and not page["more"]:
                return

    def device(index: int) -> list[dict[str, Any]]:
        wire = wires[index]
        twin = wire.at(other.url)
        answers = []
        with ThreadPoolExecutor(2) as both:
            for batch in range(BATCHES):
                entries = sales(wire, batch)
                racing = [both.submit(w.push, entries) for w in (wire, twin)]
                answers += [outcome(f.result()) for f in racing]
        return answers

    with ThreadPoolExecutor(1) as reading, ThreadPoolExecutor(DEVICES) as pool:
        reader = reading.submit(follow)
        results = list(pool.map(device, range(DEVICES)))
        done.set()
        reader.result(timeout=120)

    for answers in results:
        assert sum(a["stored"] for a in answers) == BATCHES * PER_BATCH
        assert sum(a["duplicates"] for a in answers) == BATCHES * PER_BATCH
        assert max(a["high_water"] for a in answers) == BATCHES * PER_BATCH
        assert all(a["rejected"] == [] for a in answers)
    chain = hub.json("export")
    ids = Counter(e["entry"]["entry_id"] for e in chain["entries"])
    assert len(ids) == DEVICES * BATCHES * PER_BATCH and set(ids.values()) == {1}
    points: dict[str, int] = defaultdict(int)
    for e in chain["entries"]:
        points[e["entry"]["member_id"]] += e["entry"]["points"]
    assert {m["member_id"]: m["balance"] for m in chain["members"]} == points
    everything = Wire(other).changes(0, limit=1000)
    assert not everything["more"]
    assert [c["cursor"] for c in followed] == [c["cursor"] for c in everything["changes"]]
    last_balance = {
        c["data"]["member_id"]: c["data"]["balance"] for c in followed if c["type"] == "balance"
    }
    assert last_balance == points


def test_a_kiosk_following_the_feed_misses_no_change_while_many_devices_push(
    hub: Hub, two_servers: tuple[Server, Server]
):
    # Devices with members of their own: no row lock orders their pushes, only the feed's.
    one, other = two_servers
    wires = [Wire(server) for server in (one, other) * 4]
    done = threading.Event()
    followed: list[int] = []

    def follow() -> None:
        reader, cursor = Wire(other), 0
        while True:
            finished = done.is_set()
            page = reader.changes(cursor, limit=5)
            followed.extend(c["cursor"] for c in page["changes"])
            cursor = page["next_cursor"]
            if finished and not page["more"]:
                return

    def device(wire: Wire) -> None:
        own = f"m-{wire.device_id}"
        wire.push([], [member(own)])
        for seq in range(1, 41):
            assert outcome(wire.push([wire.entry(seq, own)]))["stored"] == 1

    with ThreadPoolExecutor(1) as reading, ThreadPoolExecutor(len(wires)) as pool:
        reader = reading.submit(follow)
        list(pool.map(device, wires))
        done.set()
        reader.result(timeout=120)

    everything = [c["cursor"] for c in Wire(one).changes(0, limit=1000)["changes"]]
    assert followed == everything
