"""Visit ratings pushed by a real kiosk to a real hub on loopback, and what the hub refuses."""

from __future__ import annotations

import json
from collections.abc import Iterator
from email.message import Message
from pathlib import Path
from typing import Any

import pytest

from hub.program.rules import default_program, feedback_of, program_problem
from kiosk.core.clock import ManualClock
from kiosk.core.store.staff import CLI
from sync.client import CrmError
from sync.feedback import visit_feedback
from tests.hub.conftest import Hub, HubServer
from tests.hub.test_kiosk_on_the_hub import Kiosk
from tests.hub.wire import Server, Wire, error_code, member, new_id, outcome
from tests.test_sync_openapi import OPERATIONS, Answer, Spec, load_document


@pytest.fixture
def kiosks(tmp_path: Path, clock: ManualClock) -> Iterator[Any]:
    opened: list[Kiosk] = []

    def open_kiosk(url: str, name: str) -> Kiosk:
        kiosk = Kiosk(tmp_path / name, url, clock, name)
        opened.append(kiosk)
        return kiosk

    yield open_kiosk
    for kiosk in opened:
        kiosk.appliance.forget_client()
        kiosk.service.close()


def rated_sale(kiosk: Kiosk, phone: str, rating: int, reasons: tuple[str, ...]) -> str:
    """A purchase at the kiosk and the shopper's rating of it; the visit's entry id."""
    member = kiosk.service.enroll(phone, client_txn_id=f"enroll-{phone}").member_id
    kiosk.clock.advance(hours=5)
    visit = kiosk.service.earn(
        member, 2_000_000, cashier=CLI, client_txn_id=f"sale-{phone}"
    ).entry_id
    ratings = visit_feedback(kiosk.service)
    assert ratings.ask(member) == visit
    assert ratings.rate(visit, rating)
    for reason in reasons:
        ratings.toggle_reason(visit, reason)
    return visit


def held(hub: Hub) -> list[tuple[Any, ...]]:
    return [
        tuple(row)
        for row in hub.sql(
            "SELECT e.entry_id, r.rating, r.reasons, b.name FROM hub_visit_rating r "
            "JOIN hub_entry e ON e.id = r.entry_id JOIN hub_branch b ON b.id = r.branch_id "
            "ORDER BY r.id"
        )
    ]


def test_a_rating_follows_its_visit_to_the_hub_with_its_branch(
    hub: Hub, hub_server: HubServer, kiosks: Any
) -> None:
    kiosk = kiosks(hub_server.url, "kiosk-valiasr-1")
    kiosk.provision(hub.new_device("Valiasr")["code"])
    visit = rated_sale(kiosk, "09121234567", 2, ("waiting", "staff"))

    pushed, _pulled, _heard = kiosk.sync()
    ratings = visit_feedback(kiosk.service)
    ratings.toggle_reason(visit, "staff")  # taken back after the push
    kiosk.sync()

    assert pushed.stopped == "empty"
    assert held(hub) == [(visit, 2, "waiting", "Valiasr")]
    assert ratings.waiting() == 0


def test_a_kiosk_cannot_rate_another_branchs_visit(
    hub: Hub, hub_server: HubServer, kiosks: Any
) -> None:
    honest = kiosks(hub_server.url, "kiosk-valiasr-1")
    honest.provision(hub.new_device("Valiasr")["code"])
    other = kiosks(hub_server.url, "kiosk-tajrish-1")
    other.provision(hub.new_device("Tajrish")["code"])
    visit = rated_sale(honest, "09121234567", 5, ())
    honest.sync()
    forged = {
        "entry_id": visit,
        "rating": 1,
        "reasons": ["staff"],
        "rated_at": "2026-03-01T10:00:00.000000Z",
        "version": 9,
    }

    with other.appliance.sync_session() as worker:
        assert worker.client is not None
        refused = worker.client.push_feedback([forged])
        unknown = worker.client.push_feedback([forged | {"entry_id": "no-such-entry"}])

    assert [r["code"] for r in refused] == ["not_this_device"]
    assert [r["code"] for r in unknown] == ["unknown_entry"]
    assert held(hub) == [(visit, 5, "", "Valiasr")]


@pytest.mark.parametrize(
    "row",
    [
        {"comment": "the cashier, Ali, was rude"},  # free text: a field too many
        {"reasons": ["call me on 09121234567"]},  # a reason off the list
        {"reasons": ["staff", "staff"]},
        {"rating": 0},
        {"rating": 6},
        {"rating": True},
        {"version": 0},
        {"rated_at": "yesterday"},
    ],
)
def test_a_rating_that_is_not_one_is_refused_whole(
    hub: Hub, hub_server: HubServer, kiosks: Any, row: dict[str, Any]
) -> None:
    kiosk = kiosks(hub_server.url, "kiosk-valiasr-1")
    kiosk.provision(hub.new_device("Valiasr")["code"])
    visit = rated_sale(kiosk, "09121234567", 3, ())
    kiosk.service.conn.execute("UPDATE feedback SET pushed_version = version")  # held back
    kiosk.sync()
    sent = {
        "entry_id": visit,
        "rating": 3,
        "reasons": [],
        "rated_at": "2026-03-01T10:00:00.000000Z",
        "version": 1,
    } | row

    with kiosk.appliance.sync_session() as worker, pytest.raises(CrmError) as refused:
        assert worker.client is not None
        worker.client.push_feedback([sent])

    assert refused.value.status == 400
    assert held(hub) == []


def test_the_hub_answers_feedback_as_the_simulated_crm_does(server: Server) -> None:
    honest, other = Wire(server), Wire(server)
    someone = new_id()
    visit = honest.entry(1, someone)
    assert outcome(honest.push([visit], [member(someone)]))["stored"] == 1
    row = {
        "entry_id": visit["entry_id"],
        "rating": 4,
        "reasons": ["staff"],
        "rated_at": "2026-03-01T09:05:00.000000Z",
        "version": 1,
    }

    def rate(wire: Wire, *rows: dict[str, Any]) -> Any:
        return wire.send("POST", "/v2/feedback", {"device_id": wire.device_id, "feedback": rows})

    taken = rate(honest, row, row | {"version": 2, "reasons": ["staff", "price"]})
    forged = rate(other, row | {"version": 3, "rating": 1})
    unknown = rate(honest, row | {"entry_id": "no-such-entry"})
    free_text = rate(honest, row | {"reasons": ["the cashier, Ali"]})

    assert taken.status_code == 200 and taken.json()["stored"] == 2
    assert [r["code"] for r in forged.json()["refused"]] == ["not_this_device"]
    assert [r["code"] for r in unknown.json()["refused"]] == ["unknown_entry"]
    assert error_code(free_text) == (400, "bad_request")
    spec = Spec(load_document())
    for wire in (honest, other):
        for method, path, response in wire.exchanges:
            if (method, path) in OPERATIONS:
                headers = Message()
                for name, value in response.headers.items():
                    headers[name] = value
                spec.check(Answer(response.status_code, headers, response.content), method, path)


def test_the_chains_every_days_reaches_the_kiosk_and_is_kept_there(
    hub: Hub, hub_server: HubServer, kiosks: Any, tmp_path: Path
) -> None:
    kiosk = kiosks(hub_server.url, "kiosk-valiasr-1")
    kiosk.provision(hub.new_device("Valiasr")["code"])
    before = visit_feedback(kiosk.service).rule()
    program = hub.json("program", "show", "--json") | {
        "feedback": {"enabled": True, "every_days": 30}
    }
    (tmp_path / "p.json").write_text(json.dumps(program))
    hub.run("program", "publish", str(tmp_path / "p.json"))
    refused = hub.run(
        "program",
        "publish",
        str(_written(tmp_path / "bad.json", program | {"feedback": {"every_days": 0}})),
        check=False,
    )

    kiosk.sync()
    after = visit_feedback(kiosk.service).rule()
    member = kiosk.service.enroll("09121234567", client_txn_id="enroll").member_id
    ratings = visit_feedback(kiosk.service)
    kiosk.clock.advance(hours=5)
    kiosk.service.earn(member, 2_000_000, cashier=CLI, client_txn_id="sale-1")
    first = ratings.ask(member)
    kiosk.clock.advance(days=8)  # past the config's 7 days, within the chain's 30
    kiosk.service.earn(member, 2_000_000, cashier=CLI, client_txn_id="sale-2")
    second = ratings.ask(member)

    assert (before.enabled, before.every_days) == (True, 7)  # the kiosk's config
    assert refused.returncode != 0 and "every_days" in refused.stdout + refused.stderr
    assert (after.enabled, after.every_days) == (True, 30)
    assert first is not None and second is None


def _written(path: Path, data: Any) -> Path:
    path.write_text(json.dumps(data))
    return path


@pytest.mark.parametrize(
    ("feedback", "problem"),
    [
        ({"enabled": True, "every_days": 30}, None),
        ({"every_days": 1}, None),
        ({"every_days": 0}, "every_days"),
        ({"every_days": 3651}, "every_days"),
        ({"every_days": "7"}, "every_days"),
        ({"enabled": "yes"}, "enabled"),
        ({"ask": "always"}, "unknown field"),
        ("on", "object"),
    ],
)
def test_the_program_checks_its_feedback_rule(feedback: Any, problem: str | None) -> None:
    found = program_problem(default_program() | {"feedback": feedback})

    assert (found is None) if problem is None else (problem in str(found))


def test_a_program_without_the_rule_asks_as_the_default() -> None:
    assert feedback_of(default_program()) == {"enabled": True, "every_days": 7}
    assert feedback_of({"feedback": {"every_days": 14}}) == {"enabled": True, "every_days": 14}
