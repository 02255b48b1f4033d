"""A referral at two branches: enrolled at one, first purchase at the other, paid once
(docs/program.md, "Referrals"; hub/ledger/referrals.py).

Real kiosks of two branches (the product's Appliance and sync worker) on a real `hub serve`
on PostgreSQL, whose program pays referrals (tests/hub/test_referral_hub.py's `RULE`).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from kiosk.core.clock import ManualClock
from kiosk.core.referral import Referrals
from kiosk.core.store.staff import CLI
from kiosk.core.summary import member_summary
from tests.hub.test_entry_rules import Counter, balance_of
from tests.hub.test_kiosk_on_the_hub import Kiosk
from tests.hub.test_referral_hub import RULE, hub_paid, publish
from tests.hub.wire import Server, new_id


@pytest.fixture(scope="module")
def at(hub_server_shared: Server, tmp_path_factory: pytest.TempPathFactory) -> Server:
    """The module's hub, its program paying referrals."""
    assert hub_server_shared.hub is not None
    publish(hub_server_shared.hub, tmp_path_factory.mktemp("program"), referral=RULE)
    return hub_server_shared


@pytest.fixture
def branches(at: Server, tmp_path: Path, clock: ManualClock) -> Iterator[tuple[Kiosk, Kiosk]]:
    hub = at.hub
    assert hub is not None
    opened = []
    for branch in ("North", "South"):
        kiosk = Kiosk(tmp_path / branch, at.url, clock, f"kiosk-{branch.lower()}-{new_id()[2:8]}")
        kiosk.provision(hub.new_device(branch)["code"])
        kiosk.sync()
        kiosk.service.reload_program()
        opened.append(kiosk)
    yield opened[0], opened[1]
    for kiosk in opened:
        kiosk.appliance.forget_client()
        kiosk.service.close()


def shown(kiosk: Kiosk, member_id: str) -> int:
    return member_summary(kiosk.service, member_id).balance


def referral_here(kiosk: Kiosk, member_id: str) -> str | None:
    """The state of the member's referral in the kiosk's own table."""
    found = Referrals(kiosk.service.conn).of(member_id)
    return None if found is None else found.state


def referral_bonuses_written(kiosk: Kiosk) -> list[tuple[str, int]]:
    """The referral bonuses in the kiosk's ledger: (reason, points)."""
    rows = kiosk.service.conn.execute(
        "SELECT reason, points FROM entries WHERE kind = 'bonus' AND reason LIKE 'referral%'"
    ).fetchall()
    return [(str(r[0]), int(r[1])) for r in rows]


def phone() -> str:
    return "0912" + new_id()[-7:].translate(str.maketrans("abcdef", "123456"))


def test_enrolled_at_one_branch_first_purchase_at_another_the_hub_pays_once_then_takes_back(
    at: Server, branches: tuple[Kiosk, Kiosk]
):
    hub = at.hub
    assert hub is not None
    north, south = branches
    sender = north.service.enroll(phone(), client_txn_id="e1").member_id
    new_phone = phone()
    new = north.service.enroll(new_phone, client_txn_id="e2", referrer=sender).member_id
    north.sync()

    found = south.service.identify_phone(new_phone)  # at the hub: another branch's member
    north.clock.advance(hours=1)
    sale = south.service.earn(found.member_id, 2_000_000, cashier=CLI, client_txn_id="s1")
    south.sync()
    north.sync()  # the feed brings the hub's balances

    assert sale.bonuses == [] or all(b.reason != "referral" for b in sale.bonuses)
    assert hub_paid(hub, new) == [("hub", "referral", 60), ("hub", f"referral:{new}", 150)]
    assert shown(north, sender) == balance_of(hub, sender) == 50 + 150
    assert shown(north, new) == balance_of(hub, new) == 50 + 20 + 60
    assert sorted(  # the CRM hears of the hub's entries, as of the kiosks'
        (str(r[0]), int(r[1]))
        for r in hub.sql(
            "SELECT type, (payload->>'points')::int FROM hub_integration_event "
            "WHERE payload->>'device_id' = 'hub' AND member_id = ANY(%s)",
            [sender, new],
        )
    ) == [("points.earned", 60), ("points.earned", 150)]

    # The enrolling kiosk heard with the balance that the hub paid: its next purchase there
    # shows no referral gift and pays none (it paid again before, and the hub refused it).
    assert referral_here(north, new) == "paid"
    north.clock.advance(hours=6)
    again = north.service.earn(new, 2_000_000, cashier=CLI, client_txn_id="n1")
    pushed, _, _ = north.sync()
    north.sync()

    assert [b.reason for b in again.bonuses if b.reason == "referral"] == []
    assert referral_bonuses_written(north) == []
    assert pushed.rejected == 0
    assert hub_paid(hub, new) == [("hub", "referral", 60), ("hub", f"referral:{new}", 150)]
    assert shown(north, new) == balance_of(hub, new) == 50 + 20 + 60 + 20
    assert shown(north, sender) == balance_of(hub, sender) == 50 + 150

    # The paying purchase voided at the branch that made it: the hub takes its bonuses back.
    south.service.void(sale.entry_id, reason="returned", cashier=CLI, client_txn_id="v1")
    south.sync()
    north.sync()

    assert hub_paid(hub, new)[2:] == [("hub", "referral_void", -60), ("hub", "referral_void", -150)]
    assert shown(north, sender) == balance_of(hub, sender) == 50
    assert shown(north, new) == balance_of(hub, new) == 50 + 20


@pytest.mark.parametrize("enrolling_branch_sold", [False, True])
def test_enrolled_offline_bought_at_another_branch_then_pushed_paid_once(
    at: Server, branches: tuple[Kiosk, Kiosk], enrolling_branch_sold: bool
):
    hub = at.hub
    assert hub is not None
    north, south = branches
    new_phone = phone()
    # North, offline: the referrer, the new member naming them (and maybe a sale, paying).
    sender = north.service.enroll(phone(), client_txn_id="e1").member_id
    new = north.service.enroll(new_phone, client_txn_id="e2", referrer=sender).member_id
    if enrolling_branch_sold:
        north.clock.advance(hours=1)
        north.service.earn(new, 3_000_000, cashier=CLI, client_txn_id="n1")
    # South, online: the hub does not know the phone; enrolled again, and a purchase.
    again = south.service.enroll(new_phone, client_txn_id="s-e").member_id
    south.clock.advance(hours=1)
    south.service.earn(again, 2_000_000, cashier=CLI, client_txn_id="s1")
    south.sync()

    north.sync()  # the referral arrives after the purchase (and north's id is merged)

    payer = "device" if enrolling_branch_sold else "hub"
    assert hub_paid(hub, new) == [(payer, "referral", 60), (payer, f"referral:{new}", 150)]
    assert balance_of(hub, sender) == 50 + 150


def paid_by_the_hub_while_north_was_away(branches: tuple[Kiosk, Kiosk]) -> tuple[str, str]:
    """Enrolled at North naming a referrer, first purchase at South: the hub pays, and
    North has not pulled since. The (referrer, new member) ids."""
    north, south = branches
    sender = north.service.enroll(phone(), client_txn_id="e1").member_id
    new_phone = phone()
    new = north.service.enroll(new_phone, client_txn_id="e2", referrer=sender).member_id
    north.sync()
    found = south.service.identify_phone(new_phone)
    north.clock.advance(hours=1)
    south.service.earn(found.member_id, 2_000_000, cashier=CLI, client_txn_id="s1")
    south.sync()
    return sender, new


def test_an_enrolling_branch_that_has_not_pulled_pays_again_and_the_hub_refuses_it(
    at: Server, branches: tuple[Kiosk, Kiosk]
):
    """Offline since the hub paid (docs/program.md, "Referrals"): the enrolling kiosk still
    pays at the member's next purchase and shows it; the hub refuses both bonuses, and the
    balances shown there come back to the hub's at the next pull."""
    hub = at.hub
    assert hub is not None
    north = branches[0]
    sender, new = paid_by_the_hub_while_north_was_away(branches)

    north.clock.advance(hours=6)
    sale = north.service.earn(new, 2_000_000, cashier=CLI, client_txn_id="n1")
    assert [(b.reason, b.points) for b in sale.bonuses if b.reason == "referral"] == [
        ("referral", 60)
    ]
    pushed, _, _ = north.sync()
    north.sync()

    assert pushed.rejected == 2
    assert hub_paid(hub, new) == [("hub", "referral", 60), ("hub", f"referral:{new}", 150)]
    assert shown(north, new) == balance_of(hub, new) == 50 + 20 + 60 + 20
    assert shown(north, sender) == balance_of(hub, sender) == 50 + 150


def test_a_void_at_that_branch_does_not_take_back_bonuses_the_hub_refused(
    at: Server, branches: tuple[Kiosk, Kiosk]
):
    """The offline branch above then voids its sale: its own referral bonuses were refused
    by the hub, so their take-back (`referral_void`) is refused too: the members keep the
    hub's payment, which the void took from them before (hub/ledger/rules.py)."""
    hub = at.hub
    assert hub is not None
    north = branches[0]
    sender, new = paid_by_the_hub_while_north_was_away(branches)
    north.clock.advance(hours=6)
    sale = north.service.earn(new, 2_000_000, cashier=CLI, client_txn_id="n1")
    north.service.void(sale.entry_id, reason="returned", cashier=CLI, client_txn_id="v1")

    pushed, _, _ = north.sync()
    north.sync()

    assert pushed.rejected == 4  # the two bonuses and their two take-backs
    assert hub_paid(hub, new) == [("hub", "referral", 60), ("hub", f"referral:{new}", 150)]
    assert shown(north, new) == balance_of(hub, new) == 50 + 20 + 60
    assert shown(north, sender) == balance_of(hub, sender) == 50 + 150


def test_a_forged_take_back_of_a_referral_bonus_never_paid_is_refused(at: Server):
    """A stolen kiosk's push taking points from a member as a `referral_void` of a bonus the
    hub never stored from it."""
    hub = at.hub
    assert hub is not None
    counter = Counter(at)
    take_back = {"kind": "adjust", "amount": None, "reason": "referral_void"}

    verdict = counter.verdict(points=-150, client_txn_id="referral_void:no-such-bonus", **take_back)

    assert verdict == "outside_program"
