"""A hold asked for while the member is being erased waits for the erasure, then is refused.

`hub/ledger/holds.py` `take` read the member's status without a lock, so a hold could be
granted between an erasure's status change and its commit, and outlive the erasure that
released every other hold. The hold now reads the member under a share lock, which waits
for an erasure's row lock (hub/members/operations.py `erase`).
"""

from __future__ import annotations

import threading

import psycopg

from tests.hub.conftest import Hub
from tests.hub.test_holds import hold, shopper
from tests.hub.wire import Server, Wire, error_code


def _waiting_for_a_lock(hub: Hub) -> bool:
    rows = hub.sql(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
        "AND wait_event_type = 'Lock'"
    )
    return bool(rows[0][0])


def test_a_hold_during_an_erasure_waits_for_it_and_is_refused(hub_server_shared: Server):
    server = hub_server_shared
    hub = server.hub
    assert hub is not None
    counter = Wire(server)
    shopper_id = shopper(counter, 1000)
    answer: list[tuple[int, str]] = []  # (status, error code or "")
    done = threading.Event()

    def ask() -> None:
        response = hold(counter, shopper_id, 300)
        answer.append(error_code(response) if response.status_code >= 400 else (201, ""))
        done.set()

    with psycopg.connect(hub.postgres.url(hub.database)) as erasing:
        # The erasure's first steps, its transaction still open: the member's row locked
        # and marked erased, their holds released (as operations.erase does).
        erasing.execute(
            "SELECT member_id FROM hub_member WHERE member_id = %s FOR UPDATE", [shopper_id]
        )
        erasing.execute(
            "UPDATE hub_member SET status = 'erased', phone = NULL WHERE member_id = %s",
            [shopper_id],
        )
        erasing.execute(
            "UPDATE hub_hold SET state = 'released' WHERE member_id = %s AND state = 'active'",
            [shopper_id],
        )
        asking = threading.Thread(target=ask)
        asking.start()
        # Either the hold is answered while the erasure is still open (the race), or it
        # waits on the member's lock: whichever comes first, no sleeping.
        while not done.is_set() and not _waiting_for_a_lock(hub):
            done.wait(0.01)
        granted_during_erasure = done.is_set() and answer[0][0] == 201
        erasing.commit()
    asking.join(timeout=60)

    assert not granted_during_erasure, answer
    assert answer and answer[0][1] == "unknown_member", answer
    active = hub.sql(
        "SELECT count(*) FROM hub_hold WHERE member_id = %s AND state = 'active'", shopper_id
    )
    assert active == [(0,)]
