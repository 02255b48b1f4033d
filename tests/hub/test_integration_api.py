"""The read API (/api/v1/) on a real hub (`hub serve`, keys made with `hub apikey add`):
keys and scopes, members, balances, events since a cursor, CSV; the events cursor
complete under concurrent writers (their transactions in this process, through Django)."""

from __future__ import annotations

import csv
import io
import threading
from collections.abc import Callable
from typing import Any

import pytest
import requests

from tests.hub.conftest import Hub, HubServer
from tests.hub.test_integration_webhooks import django_on
from tests.hub.wire import Server, Wire, member, new_id

ALL = "members:read,balances:read,events:read,exports:read"


def new_key(hub: Hub, scopes: str = ALL, *extra: str, name: str | None = None) -> str:
    """`hub apikey add`: the key it prints once."""
    made = hub.run("apikey", "add", name or f"crm-{new_id()}", "--scopes", scopes, *extra)
    return made.stdout.strip()


def api(server: HubServer, key: str | None) -> Callable[..., requests.Response]:
    """GET /api/v1/<path> with the key."""
    session = requests.Session()
    session.trust_env = False
    if key is not None:
        session.headers["Authorization"] = f"Bearer {key}"

    def get(path: str, **params: Any) -> requests.Response:
        return session.get(f"{server.url}/api/v1/{path}", params=params, timeout=30)

    return get


@pytest.fixture
def wire(hub: Hub, hub_server: HubServer) -> Wire:
    return Wire(Server("hub", hub_server.url, hub=hub))


def test_a_key_reads_only_what_its_scopes_allow(hub: Hub, hub_server: HubServer, wire: Wire):
    member_id = new_id()
    assert wire.push([wire.entry(1, member_id, 30)], [member(member_id)]).status_code == 200
    get = api(hub_server, new_key(hub, "members:read"))

    listed = get("members")
    one = get(f"members/{member_id}")
    refused = [get(path).status_code for path in ("balances", "events", "exports/members.csv")]

    assert listed.status_code == 200
    assert [m["member_id"] for m in listed.json()["members"]] == [member_id]
    assert one.json()["balance"] == 30 and one.json()["phone"] == member(member_id)["phone"]
    assert get("members/m-nobody").status_code == 404
    assert refused == [403, 403, 403]
    assert get("balances").json()["error"]["code"] == "scope"


@pytest.mark.parametrize(
    "how", ["none", "wrong secret", "unknown prefix", "not a key", "revoked", "basic"]
)
def test_a_missing_wrong_or_revoked_key_is_refused(hub: Hub, hub_server: HubServer, how: str):
    key = new_key(hub, name="crm")
    presented = {
        "none": None,
        "wrong secret": key[:-4] + ("AAAA" if not key.endswith("AAAA") else "BBBB"),
        "unknown prefix": "club_00000000_" + key.split("_", 2)[2],
        "not a key": "hunter2",
        "revoked": key,
        "basic": key,
    }[how]
    if how == "revoked":
        hub.run("apikey", "revoke", "crm")
    get = api(hub_server, presented)
    if how == "basic":
        get = lambda path: requests.get(  # noqa: E731
            f"{hub_server.url}/api/v1/{path}", headers={"Authorization": f"Basic {key}"}, timeout=30
        )

    answer = get("members")

    assert answer.status_code == 401
    assert answer.json()["error"]["code"] == "credentials"
    assert "WWW-Authenticate" in answer.headers


def test_a_key_over_its_rate_waits(hub: Hub, hub_server: HubServer):
    get = api(hub_server, new_key(hub, "members:read", "--per-minute", "3"))
    other = api(hub_server, new_key(hub, "members:read"))

    codes = [get("members").status_code for _ in range(4)]

    assert codes == [200, 200, 200, 429]
    assert int(get("members").headers["Retry-After"]) >= 1
    assert other("members").status_code == 200  # per key


def test_only_get_is_answered(hub: Hub, hub_server: HubServer):
    key = new_key(hub)
    answer = requests.post(
        f"{hub_server.url}/api/v1/members", headers={"Authorization": f"Bearer {key}"}, timeout=30
    )
    assert answer.status_code == 405


def test_members_and_balances_come_a_page_at_a_time(hub: Hub, hub_server: HubServer, wire: Wire):
    ids = sorted(new_id() for _ in range(5))
    entries = [wire.entry(n, m, 10 * n) for n, m in enumerate(ids, 1)]
    assert wire.push(entries, [member(m) for m in ids]).status_code == 200
    get = api(hub_server, new_key(hub))

    seen: list[str] = []
    after = ""
    while True:
        page = get("members", limit=2, after=after).json()
        seen += [m["member_id"] for m in page["members"]]
        if page["next"] is None:
            break
        after = page["next"]
    balances = get("balances", limit=500).json()["balances"]

    assert seen == ids
    assert {b["member_id"]: b["balance"] for b in balances} == {
        m: 10 * n for n, m in enumerate(ids, 1)
    }
    assert get("balances", member_id=ids[0]).json()["balances"][0]["balance"] == 10
    assert get("members", limit=0).status_code == 400


def read_all_events(get: Callable[..., requests.Response], limit: int = 3) -> list[str]:
    ids: list[str] = []
    cursor = "0"
    while True:
        page = get("events", after=cursor, limit=limit).json()
        ids += [e["id"] for e in page["events"]]
        cursor = page["next_cursor"]
        if not page["more"]:
            return ids


def test_events_are_read_once_each_across_pages(hub: Hub, hub_server: HubServer, wire: Wire):
    member_id = new_id()
    entries = [wire.entry(n, member_id, 5) for n in range(1, 8)]
    assert wire.push(entries, [member(member_id)]).status_code == 200
    get = api(hub_server, new_key(hub, "events:read"))

    ids = read_all_events(get)

    assert len(ids) == 8 == len(set(ids))  # enrolled, and seven earned
    assert get("events", after="1.2").status_code == 400


def _write_events(member_ids: list[str], hold: threading.Event | None = None) -> None:
    """member.enrolled for each id, in one transaction of this thread (held open until
    `hold` is set, if given)."""
    from django.db import connections, transaction

    from hub.integration import events

    try:
        with transaction.atomic():
            for member_id in member_ids:
                record = member(member_id)
                events.emit(events.MemberWritten(record, None, None))
            if hold is not None:
                assert hold.wait(60)
    finally:
        connections.close_all()


def test_the_cursor_never_passes_an_event_still_to_commit(hub: Hub, hub_server: HubServer):
    django_on(hub)
    get = api(hub_server, new_key(hub, "events:read"))
    release = threading.Event()
    early = threading.Thread(target=_write_events, args=(["m-early"], release))
    early.start()
    from hub.integration.models import Event

    # The early transaction has written its event (an id below the late one's), not committed.
    while not hub.sql(
        "SELECT 1 FROM pg_stat_activity WHERE state = 'idle in transaction' "
        "AND datname = current_database()"
    ):
        threading.Event().wait(0.01)
    _write_events(["m-late"])  # committed first, with a larger id
    assert Event.objects.filter(member_id="m-late").exists()

    first = get("events", after="0").json()
    release.set()
    early.join()
    second = get("events", after=first["next_cursor"]).json()

    # In commit order: the late one first; the early one after the cursor all the same.
    assert [e["data"]["member_id"] for e in first["events"]] == ["m-late"]
    assert [e["data"]["member_id"] for e in second["events"]] == ["m-early"]


def test_the_cursor_is_complete_across_concurrent_writers(hub: Hub, hub_server: HubServer):
    django_on(hub)
    get = api(hub_server, new_key(hub, "events:read"))
    written = [[f"m-{w}-{n}" for n in range(40)] for w in range(4)]
    done = threading.Event()
    read: list[str] = []
    cursor = "0"

    def writer(ids: list[str]) -> None:
        for start in range(0, len(ids), 4):
            _write_events(ids[start : start + 4])

    threads = [threading.Thread(target=writer, args=(ids,)) for ids in written]
    for thread in threads:
        thread.start()

    def watch() -> None:
        for thread in threads:
            thread.join()
        done.set()

    watcher = threading.Thread(target=watch)
    watcher.start()
    while True:  # read while they write, as a CRM polling would
        finished = done.is_set()
        page = get("events", after=cursor, limit=7).json()
        read += [e["data"]["member_id"] for e in page["events"]]
        cursor = page["next_cursor"]
        if finished and not page["more"] and not page["events"]:
            break
    watcher.join()

    assert sorted(read) == sorted(m for ids in written for m in ids)  # each once, none lost


def test_members_and_entries_export_as_csv_without_formulas(
    hub: Hub, hub_server: HubServer, wire: Wire
):
    member_id = new_id()
    record = member(member_id, name="=HYPERLINK(1)")
    assert wire.push([wire.entry(1, member_id, 5)], [record]).status_code == 200
    get = api(hub_server, new_key(hub, "exports:read"))

    members = list(csv.DictReader(io.StringIO(get("exports/members.csv").text)))
    entries = list(csv.DictReader(io.StringIO(get("exports/entries.csv").text)))

    assert [(m["member_id"], m["name"], m["phone"]) for m in members] == [
        (member_id, "'=HYPERLINK(1)", record["phone"])
    ]
    assert [(e["member_id"], e["points"], e["kind"]) for e in entries] == [(member_id, "5", "earn")]
    assert get("members").status_code == 403


def _validator(pointer: str) -> Any:
    """A validator of the OpenAPI file's schema at `pointer` (its $refs resolved)."""
    from pathlib import Path

    import yaml
    from jsonschema import Draft202012Validator
    from referencing import Registry
    from referencing.jsonschema import DRAFT202012

    document = yaml.safe_load(
        (Path(__file__).parents[2] / "docs" / "integration-openapi.yaml").read_text()
    )
    registry = Registry().with_resource("urn:api", DRAFT202012.create_resource(document))
    return Draft202012Validator({"$ref": f"urn:api#{pointer}"}, registry=registry)


def test_the_answers_are_those_of_the_openapi_file(hub: Hub, hub_server: HubServer, wire: Wire):
    ids = [new_id(), new_id()]
    earn = wire.entry(1, ids[0], 80)
    entries = [
        earn,
        wire.entry(2, ids[0], -200, kind="redeem", reward_id="coffee", amount=None),
        wire.entry(3, ids[0], -80, kind="reversal", amount=None, reverses=earn["entry_id"]),
    ]
    assert wire.push(entries, [member(m) for m in ids]).status_code == 200
    hub.run("member", "erase", ids[1], "--yes")
    get = api(hub_server, new_key(hub))
    schema = "/paths/~1{path}/get/responses/{status}/content/application~1json/schema"

    for path, status, answer in (
        ("members", 200, get("members")),
        ("members~1{member_id}", 200, get(f"members/{ids[1]}")),
        ("balances", 200, get("balances")),
        ("events", 200, get("events", after="0")),
        ("events", 400, get("events", after="x")),
        ("events", 410, get("events", after="1")),  # a cursor from before epochs
        ("members~1{member_id}", 404, get("members/m-nobody")),
        ("members", 401, api(hub_server, "club_0_0")("members")),
    ):
        assert answer.status_code == status, (path, answer.text)
        pointer = schema.format(path=path, status=status)
        if status != 200:
            pointer = "/components/schemas/Error"
        errors = list(_validator(pointer).iter_errors(answer.json()))
        assert errors == [], (path, errors[0].message)
    types = [e["type"] for e in get("events", after="0").json()["events"]]
    assert sorted(types) == sorted(
        ["member.enrolled"] * 2
        + ["points.earned", "reward.redeemed", "entry.voided", "member.erased"]
    )
