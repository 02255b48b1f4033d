"""The read API's events cursor after the hub was restored to an earlier point: no event is
skipped without a sign.

Events are read by a position from a sequence, and a database restored from a dump sets it
back: the positions after the restored head are handed out again. A CRM reads events past
the head of last night's dump; the hub is started on a database made from that dump
(CREATE DATABASE ... TEMPLATE: another database OID, as `pg_restore` into a new database
gives) and a member is erased there, an event at a position the CRM has passed. Its old
cursor is answered 410 `cursor_expired`; read from the start, it gets every event the
restored hub holds. A plain-number cursor from before cursors named their epoch, and a
forged or garbage one, are refused, never answered with a page.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import requests
import yaml

from tests.hub.conftest import Hub, HubServer
from tests.hub.test_integration_api import _validator, api, new_key
from tests.hub.test_restored_hub import copy_of
from tests.hub.wire import Server, Wire, member, new_id


def read_from_start(get: Any, limit: int = 2) -> tuple[list[str], str]:
    """Every event from the start (no cursor), a page at a time: their ids, the last cursor."""
    ids: list[str] = []
    page = get("events", limit=limit).json()
    while True:
        ids += [e["id"] for e in page["events"]]
        if not page["more"]:
            return ids, page["next_cursor"]
        page = get("events", after=page["next_cursor"], limit=limit).json()


def _openapi() -> Any:
    return yaml.safe_load(
        (Path(__file__).parents[2] / "docs" / "integration-openapi.yaml").read_text()
    )


def held(hub: Hub) -> list[str]:
    """The events the hub's database holds, in the order of their positions."""
    return [r[0] for r in hub.sql("SELECT event_id FROM hub_integration_event ORDER BY position")]


def test_a_cursor_from_before_a_restore_is_refused_and_reading_from_the_start_misses_nothing(
    hub: Hub,
):
    server = HubServer(hub).start()
    address = server.url.removeprefix("http://")
    try:
        wire = Wire(Server("hub", server.url, hub=hub))
        key = new_key(hub, "events:read")
        first, second = new_id(), new_id()
        entries = [wire.entry(n, first, 5) for n in range(1, 3)]
        assert wire.push(entries, [member(first)]).status_code == 200
        server.stop()
        dump = copy_of(hub, hub.database)  # last night's dump
        server = HubServer(hub, bind=address).start()

        # The day goes on: the CRM reads past the dump's head.
        later = [wire.entry(n, second, 5) for n in range(3, 6)]
        assert wire.push(later, [member(second)]).status_code == 200
        get = api(server, key)
        before, cursor = read_from_start(get)
        assert len(before) == 7 == len(set(before))
        server.stop()

        restored = copy_of(dump, dump.database)
        restored.run("member", "erase", first, "--yes")  # member.erased, after the restore
        ((position,),) = restored.sql(
            "SELECT position FROM hub_integration_event WHERE type = 'member.erased'"
        )
        assert position <= int(cursor.rpartition(".")[2])  # a position the CRM has passed
        server = HubServer(restored, bind=address).start()
        get = api(server, key)

        expired = get("events", after=cursor)
        again, _ = read_from_start(get)

        assert expired.status_code == 410, expired.text
        assert expired.json()["error"]["code"] == "cursor_expired"
        assert "restored" in expired.json()["error"]["message"]
        assert list(_validator("/components/schemas/Error").iter_errors(expired.json())) == []
        assert "410" in _openapi()["paths"]["/events"]["get"]["responses"]
        assert again == held(restored)
        assert len(again) == 4  # enrolled, two earned, and the erasure made after the restore
        erased = [e for e in get("events").json()["events"] if e["type"] == "member.erased"]
        assert [e["data"]["member_id"] for e in erased] == [first]
    finally:
        server.stop(graceful=False)


def test_a_cursor_stays_good_across_a_restart_and_expires_with_a_reset_epoch(hub: Hub):
    server = HubServer(hub).start()
    address = server.url.removeprefix("http://")
    try:
        wire = Wire(Server("hub", server.url, hub=hub))
        key = new_key(hub, "events:read")
        member_id = new_id()
        assert wire.push([wire.entry(1, member_id, 5)], [member(member_id)]).status_code == 200
        _, cursor = read_from_start(api(server, key))
        server.stop()
        server = HubServer(hub, bind=address).start()  # a restart is no restore

        kept = api(server, key)("events", after=cursor)
        hub.run("feed", "reset-epoch")  # a restore the hub could not see by itself
        reset = api(server, key)("events", after=cursor)

        assert kept.status_code == 200 and kept.json()["events"] == []
        assert reset.status_code == 410 and reset.json()["error"]["code"] == "cursor_expired"
    finally:
        server.stop(graceful=False)


def test_a_plain_number_cursor_from_before_epochs_is_expired_and_0_is_the_start(
    hub: Hub, hub_server: HubServer
):
    wire = Wire(Server("hub", hub_server.url, hub=hub))
    member_id = new_id()
    assert wire.push([wire.entry(1, member_id, 5)], [member(member_id)]).status_code == 200
    get = api(hub_server, new_key(hub, "events:read"))

    old = get("events", after="1")
    start = get("events", after="0")
    without = get("events")

    assert old.status_code == 410 and old.json()["error"]["code"] == "cursor_expired"
    assert len(start.json()["events"]) == 2 and start.json() == without.json()
    epoch, _, position = start.json()["next_cursor"].partition(".")
    assert len(epoch) == 32 and position.isdigit()


def test_a_forged_or_garbage_cursor_is_refused_as_bad_input(hub: Hub, hub_server: HubServer):
    get = api(hub_server, new_key(hub, "events:read"))
    epoch = get("events").json()["next_cursor"].partition(".")[0]
    garbage = [
        "x",
        "",
        "-1",
        "1.2",
        f"{epoch}.",
        f"{epoch}.x",
        f"{epoch}.-1",
        f"{epoch}.1.2",
        f"{epoch}.{'9' * 19}",
        f"{epoch.upper()}.1",
        f"{epoch}0.1",
        f"{epoch[:-1]}.1",
        "٣",  # an Arabic-Indic digit: isdigit, but no position
        f"{epoch}.٣",
        "\x00",
        "a" * 1000,
    ]
    forged = "0" * 32 + ".1" if epoch != "0" * 32 else "1" * 32 + ".1"

    answers: dict[str, requests.Response] = {text: get("events", after=text) for text in garbage}
    other = get("events", after=forged)

    assert {text: a.status_code for text, a in answers.items()} == {t: 400 for t in answers}
    assert {a.json()["error"]["code"] for a in answers.values()} == {"bad_request"}
    assert other.status_code == 410 and other.json()["error"]["code"] == "cursor_expired"
    assert get("events", after=f"{epoch}.{'9' * 18}").json() == {
        "events": [],
        "next_cursor": f"{epoch}.{'9' * 18}",
        "more": False,
    }
