"""Webhooks to the chain's CRM, on a real hub: events from real pushes and erasures, sent
by the worker's own code to a real receiver on loopback (tests/hub/webhook_receiver.py).

The hub runs as a subprocess (`hub serve`, `hub webhook add`, `hub member erase`); the
deliveries are made in this process through Django on the hub's database, with an
injected clock and seeded randomness, so that an hour's outage is minutes of no one's time.
"""

from __future__ import annotations

import os
import random
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests

from kiosk.core.clock import ManualClock
from tests.hub.conftest import ROOT, Hub, HubServer, run_hub
from tests.hub.webhook_receiver import WebhookReceiver
from tests.hub.wire import Server, Wire, member, new_id

ALLOW = {"HUB_WEBHOOK_ALLOW_PRIVATE": "1"}
SECRET = re.compile(r"whsec_[A-Za-z0-9_-]+")


def django_on(hub: Hub) -> None:
    """Django in this process, on `hub`'s database and data directory (set up once)."""
    import django
    from django.apps import apps
    from django.conf import settings
    from django.db import connections

    from hub.environment import database_settings

    url = hub.postgres.url(hub.database)
    if not apps.ready:
        os.environ["DJANGO_SETTINGS_MODULE"] = "hub.settings"
        os.environ["HUB_DATABASE_URL"] = url
        os.environ["HUB_DATA_DIR"] = str(hub.data_dir)
        os.environ["HUB_DB_POOL_MAX"] = "0"
        django.setup()
    connections.close_all()
    connections["default"].settings_dict.update(database_settings(url, 0))
    settings.HUB = replace(settings.HUB, data_dir=hub.data_dir)  # the sealing key's folder


def add_endpoint(hub: Hub, url: str, events: str = "all") -> str:
    """`hub webhook add`, private addresses allowed (the receiver is on loopback); the secret."""
    done = run_hub(hub.env | ALLOW, "webhook", "add", url, "--events", events)
    found = SECRET.search(done.stdout)
    assert found is not None, done.stdout
    return found.group(0)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(datetime.now(UTC))


@pytest.fixture
def receiver(clock: ManualClock) -> Iterator[WebhookReceiver]:
    with WebhookReceiver(clock=lambda: clock().timestamp()) as running:
        yield running


@pytest.fixture
def wire(hub: Hub, hub_server: HubServer) -> Wire:
    return Wire(Server("hub", hub_server.url, hub=hub))


def sender(clock: ManualClock) -> Any:
    from hub.integration.delivery import Sender

    return Sender(clock=clock, rng=random.Random(17), read_timeout=0.3, allow_private=True)


def pending_due() -> datetime | None:
    """The soonest a pending delivery is due, None when none is pending."""
    from django.db.models import Min

    from hub.integration.models import Delivery

    due: datetime | None = Delivery.objects.filter(state="pending").aggregate(
        due=Min("next_attempt_at")
    )["due"]
    return due


def drain(
    clock: ManualClock, receiver: WebhookReceiver | None = None, down_for: timedelta | None = None
) -> None:
    """Run the worker's rounds, moving the clock to each next due time, until nothing is
    pending; the receiver comes back up after `down_for` of the clock."""
    from hub.integration.delivery import deliver_due

    started = clock()
    send = sender(clock)
    for _ in range(500):
        if receiver is not None and down_for is not None and clock() - started >= down_for:
            receiver.up()
        while deliver_due(send):
            pass
        due = pending_due()
        if due is None:
            return
        clock.now = max(clock(), due)
    pytest.fail("deliveries still pending after 500 rounds")


def events_by_type() -> dict[str, list[str]]:
    from hub.integration.models import Event

    found: dict[str, list[str]] = {}
    for event_id, event_type in Event.objects.order_by("id").values_list("event_id", "type"):
        found.setdefault(event_type, []).append(event_id)
    return found


def test_every_event_reaches_a_receiver_down_for_an_hour_once_per_id(
    hub: Hub, wire: Wire, receiver: WebhookReceiver, clock: ManualClock
) -> None:
    receiver.state.secrets.append(add_endpoint(hub, receiver.url))
    ids = [new_id(), new_id()]
    earn = wire.entry(1, ids[0], 50)
    batch = [
        earn,
        wire.entry(2, ids[1], 80),
        wire.entry(3, ids[0], -200, kind="redeem", reward_id="coffee", amount=None),
        wire.entry(4, ids[1], -80, kind="reversal", amount=None),
    ]
    batch[3]["reverses"] = batch[1]["entry_id"]
    first = wire.push(batch, [member(i) for i in ids])
    assert first.status_code == 200, first.text
    again = wire.push(batch, [member(i) for i in ids])  # the answer lost: the kiosk repeats
    assert again.json()["duplicates"] == 4
    django_on(hub)

    receiver.down("reset", "timeout", "500", "stored_then_reset")
    drain(clock, receiver, down_for=timedelta(hours=1))

    made = events_by_type()
    assert {t: len(v) for t, v in made.items()} == {
        "member.enrolled": 2,
        "points.earned": 2,
        "reward.redeemed": 1,
        "entry.voided": 1,
    }
    every = {event_id for ids_ in made.values() for event_id in ids_}
    assert receiver.processed_ids() == every  # none lost
    outcomes = receiver.outcomes()
    assert outcomes.count("processed") == len(every)  # each processed once
    assert {"reset", "timeout", "500", "duplicate"} <= set(outcomes)
    assert clock() - datetime.now(UTC) >= timedelta(hours=1)
    from hub.integration.models import Delivery

    assert set(Delivery.objects.values_list("state", flat=True)) == {"delivered"}
    # The envelope: the stable id, its type, the data; no personal data in a points event.
    earned = receiver.state.processed[made["points.earned"][0]]
    assert earned["data"]["member_id"] == ids[0]
    assert "phone" not in earned["data"]
    listed = run_hub(hub.env, "webhook", "list").stdout
    assert "delivered 6" in listed and "failed 0" in listed


def test_a_delivery_never_answered_for_three_days_is_failed_and_shown(
    hub: Hub, wire: Wire, receiver: WebhookReceiver, clock: ManualClock
) -> None:
    receiver.state.secrets.append(add_endpoint(hub, receiver.url, "points.earned"))
    member_id = new_id()
    assert wire.push([wire.entry(1, member_id, 5)], [member(member_id)]).status_code == 200
    django_on(hub)
    receiver.down("500")

    drain(clock)

    from hub.integration.models import Delivery

    (delivery,) = Delivery.objects.all()
    assert delivery.state == "failed"
    assert delivery.attempts > 10
    assert delivery.finished_at is not None
    assert timedelta(days=2) < delivery.finished_at - delivery.created_at <= timedelta(days=3)
    listed = run_hub(hub.env, "webhook", "list").stdout
    assert "failed 1" in listed and "answered 500" in listed


def test_a_tampered_or_replayed_delivery_is_refused_by_the_documented_check(
    hub: Hub, wire: Wire, receiver: WebhookReceiver, clock: ManualClock
) -> None:
    receiver.state.secrets.append(add_endpoint(hub, receiver.url, "points.earned"))
    member_id = new_id()
    assert wire.push([wire.entry(1, member_id, 5)], [member(member_id)]).status_code == 200
    django_on(hub)
    drain(clock)
    (sent,) = receiver.state.captured
    post = requests.Session()

    tampered = post.post(
        receiver.url, data=sent.body.replace(b'"points":5', b'"points":500'), headers=sent.headers
    )
    replayed_at_once = post.post(receiver.url, data=sent.body, headers=sent.headers)
    clock.advance(minutes=6)
    replayed_later = post.post(receiver.url, data=sent.body, headers=sent.headers)

    assert tampered.status_code == 400 and "no signature matches" in tampered.text
    assert replayed_at_once.json() == {"outcome": "duplicate"}  # the dedupe by event id
    assert replayed_later.status_code == 400 and "outside the tolerance" in replayed_later.text
    assert len(receiver.processed_ids()) == 1


def test_the_reference_verifier_takes_both_secrets_after_a_rotation_and_no_other() -> None:
    from hub.integration.signature import BadSignature, sign, verify

    body = b'{"id":"evt_1"}'
    header = sign("whsec_new", 1_700_000_000, body)
    header += "," + sign("whsec_old", 1_700_000_000, body).split(",")[1]

    assert verify(["whsec_old"], header, body, 1_700_000_100) == 1_700_000_000
    assert verify(["whsec_new"], header, body, 1_700_000_100) == 1_700_000_000
    for secrets_, text, now in (
        (["whsec_other"], header, 1_700_000_100),
        (["whsec_new"], "t=1700000000", 1_700_000_100),
        (["whsec_new"], header.replace("t=1700000000", "t=1700000001"), 1_700_000_100),
        (["whsec_new"], header, 1_700_000_301),
    ):
        with pytest.raises(BadSignature):
            verify(secrets_, text, body, now)


def test_an_erased_members_pending_events_stop_and_member_erased_goes_out(
    hub: Hub, wire: Wire, receiver: WebhookReceiver, clock: ManualClock
) -> None:
    receiver.state.secrets.append(add_endpoint(hub, receiver.url))
    member_id = new_id()
    record = member(member_id, name="Sara Ahmadi")
    assert wire.push([wire.entry(1, member_id, 5)], [record]).status_code == 200
    django_on(hub)
    receiver.down("500")
    drain_once = sender(clock)
    from hub.integration.delivery import deliver_due

    clock.now = max(clock(), pending_due() or clock())
    assert deliver_due(drain_once) == 2  # tried once, failed: pending with the person in it

    before = len(receiver.state.captured)
    hub.run("member", "erase", member_id, "--yes")
    receiver.up()
    drain(clock)

    received = {e["type"]: e for e in receiver.state.processed.values()}
    assert set(received) == {"points.earned", "member.erased"}
    assert received["member.erased"]["data"]["member_id"] == member_id
    for sent in receiver.state.captured[before:]:  # nothing of the person after the erasure
        assert record["phone"].encode() not in sent.body
        assert b"Sara" not in sent.body
    from hub.integration.models import Delivery, Event

    enrolled = Event.objects.get(type="member.enrolled")
    assert enrolled.payload == {"member_id": member_id, "status": "erased"}
    assert Delivery.objects.get(event=enrolled).state == "cancelled"
    hub.run("member", "erase", member_id, "--yes", check=False)  # again: nothing more
    assert Event.objects.filter(type="member.erased").count() == 1


def test_a_record_pushed_erased_by_a_kiosk_sends_member_erased_once(
    hub: Hub, wire: Wire, receiver: WebhookReceiver, clock: ManualClock
) -> None:
    receiver.state.secrets.append(add_endpoint(hub, receiver.url, "member.erased,member.updated"))
    member_id = new_id()
    assert wire.push([], [member(member_id)]).status_code == 200
    erased = {
        "member_id": member_id,
        "status": "erased",
        "created_at": member(member_id)["created_at"],
        "updated_at": "2026-03-02T09:00:00.000000Z",
    }

    assert wire.push([], [erased]).status_code == 200
    assert wire.push([], [erased]).status_code == 200
    django_on(hub)
    drain(clock)

    assert [e["type"] for e in receiver.state.processed.values()] == ["member.erased"]


def test_the_hub_refuses_private_targets_and_never_follows_a_redirect(
    hub: Hub, wire: Wire, receiver: WebhookReceiver, clock: ManualClock
) -> None:
    for url in (
        "http://127.0.0.1:9/x",
        "http://10.1.2.3/x",
        "http://[::1]/x",
        "ftp://a.b/x",
        "https://user:pw@example.com/x",
    ):
        refused = run_hub(hub.env, "webhook", "add", url, "--events", "all", check=False)
        assert refused.returncode == 1 and "whsec_" not in refused.stdout, url
    with WebhookReceiver(clock=lambda: clock().timestamp()) as inner:
        receiver.state.redirect_to = inner.url
        receiver.state.secrets.append(add_endpoint(hub, receiver.url, "points.earned"))
        member_id = new_id()
        assert wire.push([wire.entry(1, member_id, 5)], [member(member_id)]).status_code == 200
        django_on(hub)
        receiver.down("redirect")

        from hub.integration.delivery import deliver_due

        clock.now = max(clock(), pending_due() or clock())
        assert deliver_due(sender(clock)) == 1

        assert inner.state.captured == []
    from hub.integration.models import Delivery

    (delivery,) = Delivery.objects.all()
    assert (delivery.state, delivery.last_status) == ("pending", 302), delivery.last_error


def test_the_secret_is_sealed_at_rest_and_rotation_signs_with_both_for_a_day(
    hub: Hub, receiver: WebhookReceiver
) -> None:
    secret = add_endpoint(hub, receiver.url)
    rotated = run_hub(hub.env, "webhook", "rotate-secret", "1").stdout
    new = SECRET.search(rotated)
    assert new is not None and new.group(0) != secret
    (sealed,) = hub.sql(
        "SELECT sealed_secret, sealed_previous_secret FROM hub_integration_endpoint"
    )
    for column in sealed:
        assert secret.encode() not in bytes(column) and new.group(0).encode() not in bytes(column)
    assert "whsec_" not in run_hub(hub.env, "webhook", "list").stdout
    assert (hub.data_dir / "webhook-key").stat().st_mode & 0o077 == 0


def test_the_worker_delivers_and_stops_cleanly_on_sigterm(
    hub: Hub, wire: Wire, receiver: WebhookReceiver
) -> None:
    receiver.state.secrets.append(add_endpoint(hub, receiver.url, "points.earned"))
    worker = subprocess.Popen(
        [sys.executable, "-m", "hub", "webhooks", "work"],
        env=hub.env | ALLOW,
        cwd=ROOT,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        member_id = new_id()
        entries = [wire.entry(n, member_id, 5) for n in range(1, 4)]
        assert wire.push(entries, [member(member_id)]).status_code == 200

        assert receiver.wait_for(lambda s: len(s.processed) == 3)
        worker.send_signal(signal.SIGTERM)
        _, stderr = worker.communicate(timeout=60)
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()

    assert worker.returncode == 0, stderr
    assert "stopped" in stderr
    assert "club-events" not in stderr  # no URL in its log


def test_a_worker_killed_mid_delivery_leaves_it_to_the_next_and_the_receiver_dedupes(
    hub: Hub, wire: Wire, receiver: WebhookReceiver, clock: ManualClock
) -> None:
    receiver.state.secrets.append(add_endpoint(hub, receiver.url, "points.earned"))
    receiver.down("stored_then_timeout")  # processed, and the answer never comes
    worker = subprocess.Popen(
        [sys.executable, "-m", "hub", "webhooks", "work"],
        env=hub.env | ALLOW,
        cwd=ROOT,
        stderr=subprocess.DEVNULL,
    )
    try:
        member_id = new_id()
        assert wire.push([wire.entry(1, member_id, 5)], [member(member_id)]).status_code == 200
        assert receiver.wait_for(lambda s: len(s.attempts) == 1)

        worker.send_signal(signal.SIGKILL)  # while it waits for the answer
        worker.wait(timeout=60)
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()
    receiver.up()
    django_on(hub)
    from hub.integration.models import Delivery

    (leased,) = Delivery.objects.all()
    assert (leased.state, leased.attempts) == ("pending", 0)
    clock.now = datetime.now(UTC) + timedelta(minutes=3)  # the dead worker's lease ran out
    drain(clock)

    assert receiver.outcomes() == ["processed", "duplicate"]
    assert Delivery.objects.get().state == "delivered"


def test_a_missing_sealing_key_keeps_the_delivery_and_the_worker_going(
    hub: Hub, wire: Wire, receiver: WebhookReceiver, clock: ManualClock
) -> None:
    receiver.state.secrets.append(add_endpoint(hub, receiver.url, "points.earned"))
    member_id = new_id()
    assert wire.push([wire.entry(1, member_id, 5)], [member(member_id)]).status_code == 200
    django_on(hub)
    key = hub.data_dir / "webhook-key"
    kept = key.read_bytes()
    key.unlink()
    from hub.integration.delivery import deliver_due
    from hub.integration.models import Delivery

    clock.now = max(clock(), pending_due() or clock())
    assert deliver_due(sender(clock)) == 1

    waiting = Delivery.objects.get()
    assert waiting.state == "pending" and "webhook-key" in str(waiting.last_error)
    assert receiver.state.captured == []
    key.write_bytes(kept)
    drain(clock)
    assert len(receiver.processed_ids()) == 1


def test_a_person_erased_by_their_merged_alias_is_erased_for_the_crm_under_both_ids(
    hub: Hub, wire: Wire, receiver: WebhookReceiver, clock: ManualClock
) -> None:
    receiver.state.secrets.append(add_endpoint(hub, receiver.url))
    first, alias = new_id(), new_id()
    record = member(first, name="Sara Ahmadi")
    assert wire.push([], [record]).status_code == 200
    # The same phone enrolled again under another id (two branches, offline): an alias.
    again = member(alias, phone=record["phone"], cards=[])
    assert wire.push([], [again]).status_code == 200
    erased = {
        "member_id": alias,
        "status": "erased",
        "created_at": again["created_at"],
        "updated_at": "2026-03-02T09:00:00.000000Z",
    }

    assert wire.push([], [erased]).status_code == 200
    django_on(hub)
    drain(clock)

    received = sorted(
        (e["type"], e["data"]["member_id"]) for e in receiver.state.processed.values()
    )
    # The enrollment was still pending at the erasure: stopped, never sent.
    assert received == sorted([("member.erased", first), ("member.erased", alias)])
    from hub.integration.models import Event

    assert Event.objects.get(type="member.enrolled").payload["status"] == "erased"
