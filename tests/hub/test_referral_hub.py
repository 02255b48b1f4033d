"""The hub pays a referral once, wherever the first purchase is, and refuses a forged one
(docs/program.md, "Referrals"; hub/ledger/referrals.py, hub/members/referrals.py).

Raw pushes, over real HTTP to `hub serve` on PostgreSQL, of a device (one kiosk's SD card:
its secret signs whatever it pushes) trying to mint referral bonuses; real kiosks of two
branches are in tests/hub/test_referral_branches.py.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.hub.conftest import Hub
from tests.hub.test_entry_rules import balance_of, flags_of
from tests.hub.wire import Server, Wire, member, new_id, outcome

RULE = {
    "enabled": True,
    "referrer_bonus": 150,
    "referee_bonus": 60,
    "max_per_month": 2,
    "min_purchase": 1_000_000,
}
END_OF_FARVARDIN = "2026-04-20T20:29:59.999999Z"  # 23:59:59 in Tehran, 31 Farvardin 1405
ORDIBEHESHT = "2026-04-20T20:30:00.000000Z"  # 00:00 in Tehran, 1 Ordibehesht 1405


def publish(hub: Hub, folder: Path, **changes: Any) -> None:
    program = hub.json("program", "show", "--json") | changes
    (folder / "p.json").write_text(json.dumps(program))
    hub.run("program", "publish", str(folder / "p.json"))


@pytest.fixture(scope="module")
def at(hub_server_shared: Server, tmp_path_factory: pytest.TempPathFactory) -> Server:
    """One hub for the module's raw pushes, its program paying referrals."""
    assert hub_server_shared.hub is not None
    publish(hub_server_shared.hub, tmp_path_factory.mktemp("program"), referral=RULE)
    return hub_server_shared


class Device:
    """One kiosk's raw pushes (signed with its secret), at a branch of its own."""

    def __init__(self, server: Server, branch: str = "Valiasr") -> None:
        assert server.hub is not None
        code = str(server.hub.new_device(branch)["code"])
        self.wire = Wire(Server(server.name, server.url, hub=server.hub, codes=[code]))
        self.seq = 0

    def entry(self, member_id: str, **fields: Any) -> dict[str, Any]:
        self.seq += 1
        return self.wire.entry(self.seq, member_id, **fields)

    def purchase(self, member_id: str, amount: int = 2_000_000, **fields: Any) -> dict[str, Any]:
        return self.entry(member_id, kind="earn", points=amount // 100_000, amount=amount, **fields)

    def bonus(self, member_id: str, reason: str, points: int, **fields: Any) -> dict[str, Any]:
        return self.entry(
            member_id, kind="bonus", points=points, amount=None, reason=reason, **fields
        )

    def push(
        self, entries: list[dict[str, Any]], members: list[Any] | None = None
    ) -> dict[str, Any]:
        return outcome(self.wire.push(entries, members))


def referred(referrer: str) -> tuple[str, dict[str, Any]]:
    """A new member's id and record naming `referrer`."""
    new = new_id()
    return new, member(new, referrer_id=referrer)


def refusals(hub: Hub, member_id: str) -> list[str]:
    return [
        d.get("reason", "") for code, d in flags_of(hub, member_id) if code == "outside_program"
    ]


def hub_paid(hub: Hub, new: str) -> list[tuple[str, str, int]]:
    """The referral bonuses stored for `new` (theirs, any id of theirs, and their
    referrer's), then the hub's entries taking them back: (source, reason, points)."""
    family = [
        str(r[0])
        for r in hub.sql(
            "SELECT member_id FROM hub_member WHERE member_id = %s OR merged_into = %s "
            "OR member_id = (SELECT merged_into FROM hub_member WHERE member_id = %s)",
            new,
            new,
            new,
        )
    ]
    bonuses = hub.sql(
        "SELECT entry_id, device_id IS NULL, reason, points FROM hub_entry "
        "WHERE status = 'stored' AND kind = 'bonus' AND (reason = %s "
        "OR reason = 'referral' AND member_id = ANY(%s)) "
        "ORDER BY received_at, device_id NULLS LAST, seq",
        f"referral:{new}",
        family,
    )
    voids = hub.sql(
        "SELECT reason, points FROM hub_entry WHERE device_id IS NULL "
        "AND client_txn_id = ANY(%s) ORDER BY seq",
        [f"referral_void:{r[0]}" for r in bonuses],
    )
    paid = [("hub" if r[1] else "device", str(r[2]), int(r[3])) for r in bonuses]
    return paid + [("hub", str(r[0]), int(r[1])) for r in voids]


# -- a forged push ---------------------------------------------------------------------------

Setup = Callable[[Device, str, str], list[dict[str, Any]]]


def _no_purchase(device: Device, referrer: str, new: str) -> list[dict[str, Any]]:
    return []


def _small_purchase(device: Device, referrer: str, new: str) -> list[dict[str, Any]]:
    return [device.purchase(new, amount=999_999)]  # one rial below min_purchase


def _voided_purchase(device: Device, referrer: str, new: str) -> list[dict[str, Any]]:
    bought = device.purchase(new)
    return [
        bought,
        device.entry(new, kind="reversal", points=-20, amount=None, reverses=bought["entry_id"]),
    ]


def _purchase(device: Device, referrer: str, new: str) -> list[dict[str, Any]]:
    return [device.purchase(new, amount=1_000_000)]  # exactly min_purchase


HUB_PAID = [("hub", "referral", 60), ("hub", "referral:{new}", 150)]


@pytest.mark.parametrize(
    ("setup", "reason", "points", "verdict", "paid"),
    [
        pytest.param(
            _purchase,
            "referral",
            60,
            None,
            [("device", "referral", 60)],
            id="qualifying, new member",
        ),
        pytest.param(
            _purchase,
            "referral:{new}",
            150,
            None,
            [("device", "referral:{new}", 150)],
            id="qualifying, referrer",
        ),
        pytest.param(
            _no_purchase, "referral", 60, "referral_no_purchase", [], id="no purchase, new member"
        ),
        pytest.param(
            _no_purchase,
            "referral:{new}",
            150,
            "referral_no_purchase",
            [],
            id="no purchase, referrer",
        ),
        pytest.param(
            _small_purchase,
            "referral",
            60,
            "referral_no_purchase",
            [],
            id="below the minimum, new member",
        ),
        pytest.param(
            _voided_purchase,
            "referral:{new}",
            150,
            "referral_no_purchase",
            [],
            id="voided purchase, referrer",
        ),
        # Refused, and the hub pays the referral itself by the program (the purchase qualifies).
        pytest.param(
            _purchase,
            "referral",
            61,
            "referral_above_program",
            HUB_PAID,
            id="one point too many, new member",
        ),
        pytest.param(
            _purchase,
            "referral:{new}",
            151,
            "referral_above_program",
            HUB_PAID,
            id="one point too many, referrer",
        ),
    ],
)
def test_a_referral_bonus_is_stored_only_after_a_qualifying_purchase(
    at: Server,
    setup: Setup,
    reason: str,
    points: int,
    verdict: str | None,
    paid: list[tuple[str, str, int]],
):
    hub = at.hub
    assert hub is not None
    device = Device(at)
    referrer = new_id()
    new, record = referred(referrer)
    device.push([], [member(referrer), record])
    target = referrer if reason.startswith("referral:") else new

    # As a kiosk pushes them: the purchase and the bonus it paid, in one batch.
    answer = device.push(
        [*setup(device, referrer, new), device.bonus(target, reason.format(new=new), points)]
    )

    assert answer["rejected"] == ([] if verdict is None else [(device.seq, "outside_program")])
    assert refusals(hub, target) == ([] if verdict is None else [verdict])
    assert hub_paid(hub, new) == [(s, r.format(new=new), p) for s, r, p in paid]


@pytest.mark.parametrize("reason", ["referral", "referral:{new}"])
def test_a_referral_bonus_without_a_referral_is_refused_and_flagged(at: Server, reason: str):
    hub = at.hub
    assert hub is not None
    device = Device(at)
    referrer, new = new_id(), new_id()
    device.push([], [member(referrer), member(new)])  # the new member named nobody
    device.push([device.purchase(new)])
    target = referrer if reason != "referral" else new

    answer = device.push([device.bonus(target, reason.format(new=new), 60)])

    assert answer["rejected"] == [(device.seq, "outside_program")]
    assert refusals(hub, target) == ["referral_unknown"]
    assert hub_paid(hub, new) == []


def test_a_referral_is_paid_once_and_the_referrers_bonus_only_to_the_referrer(at: Server):
    hub = at.hub
    assert hub is not None
    device = Device(at)
    referrer, thief = new_id(), new_id()
    new, record = referred(referrer)
    device.push([], [member(referrer), member(thief), record])
    paid = device.push(
        [
            device.purchase(new),
            device.bonus(thief, f"referral:{new}", 150),  # not the referrer
            device.bonus(new, "referral", 60),
            device.bonus(referrer, f"referral:{new}", 150),
        ]
    )
    again = device.push(  # the same kiosk again, as if at a second purchase
        [device.purchase(new), device.bonus(new, "referral", 60)]
    )

    assert paid["rejected"] == [(2, "outside_program")]
    assert again["rejected"] == [(device.seq, "outside_program")]
    assert refusals(hub, thief) == ["referral_not_referrer"]
    assert refusals(hub, new) == ["referral_paid_before"]
    assert hub_paid(hub, new) == [("device", "referral", 60), ("device", f"referral:{new}", 150)]


@pytest.mark.parametrize(
    ("why", "record_of"),
    [
        ("self_referral", lambda referrer, new: member(new, referrer_id=new)),
        ("unknown_referrer", lambda referrer, new: member(new, referrer_id="m-nobody-here")),
    ],
)
def test_a_referral_the_hub_refuses_is_flagged_and_pays_nothing(
    at: Server, why: str, record_of: Callable[[str, str], dict[str, Any]]
):
    hub = at.hub
    assert hub is not None
    device = Device(at)
    referrer, new = new_id(), new_id()
    device.push([], [member(referrer), record_of(referrer, new)])

    answer = device.push([device.purchase(new), device.bonus(new, "referral", 60)])

    assert answer["rejected"] == [(device.seq, "outside_program")]
    assert [d["reason"] for c, d in flags_of(hub, new) if c == "referral_refused"] == [why]
    assert refusals(hub, new) == ["referral_refused"]
    assert hub_paid(hub, new) == []


@pytest.mark.parametrize(
    ("third_at", "verdict"),
    [
        (END_OF_FARVARDIN, "referral_over_cap"),  # the same Jalali month: the cap is full
        (ORDIBEHESHT, None),  # a minute later in Tehran: a new month
    ],
)
def test_the_referrers_monthly_cap_counts_every_branch(
    at: Server, third_at: str, verdict: str | None
):
    hub = at.hub
    assert hub is not None
    north, south = Device(at, "North"), Device(at, "South")
    referrer = new_id()
    north.push([], [member(referrer)])
    for device in (north, south, north):  # two paid (the cap), then a third
        new, record = referred(referrer)
        device.push([], [record])
        when = third_at if device is north and device.seq else "2026-04-10T09:00:00.000000Z"
        answer = device.push(
            [
                device.purchase(new, created_at=when),
                device.bonus(referrer, f"referral:{new}", 150, created_at=when),
            ]
        )

    assert answer["rejected"] == ([] if verdict is None else [(north.seq, "outside_program")])
    assert refusals(hub, referrer) == ([] if verdict is None else [verdict])
    assert balance_of(hub, referrer) == 150 * (2 if verdict else 3)


def test_referrals_the_hub_pays_for_three_branches_at_once_stop_at_the_cap(at: Server):
    # Three branches push a first purchase of a member the same referrer brought (none of
    # them holds the referral: the hub pays) at the same moment, to the hub's two processes,
    # when one more fits in the referrer's month: the cap (2) is counted one push after the
    # other (under the referrer's balance row lock), so only one of them is paid.
    hub = at.hub
    assert hub is not None
    referrer = new_id()
    devices = [Device(at, f"Branch {i}") for i in range(4)]
    devices[0].push([], [member(referrer)])
    purchases = []
    for device in devices:
        new, record = referred(referrer)
        device.push([], [record])
        purchases.append((new, device.purchase(new)))
    devices.pop(0).push([purchases.pop(0)[1]])  # paid by the hub: one more fits
    start = threading.Barrier(len(devices))

    def push(device: Device, purchase: dict[str, Any]) -> None:
        start.wait()
        assert device.push([purchase])["stored"] == 1

    threads = [
        threading.Thread(target=push, args=(device, purchase))
        for device, (_, purchase) in zip(devices, purchases, strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    paid = [new for new, _ in purchases if hub_paid(hub, new)]
    capped = [
        new for new, _ in purchases if [c for c, _ in flags_of(hub, new)] == ["referral_capped"]
    ]
    assert len(paid) == 1 and len(capped) == 2
    assert balance_of(hub, referrer) == 2 * 150


# -- the field on the wire, at the simulated CRM as at the hub -------------------------------


@pytest.mark.parametrize(("given", "status"), [("m-sender", 200), (5, 400), ("", 400)])
def test_a_member_record_carries_its_referrer_to_either_crm(
    at: Server, server: Server, given: object, status: int
):
    wire = Wire(server)
    sender = member("m-sender-" + new_id())
    record = member(new_id(), referrer_id=sender["member_id"] if given == "m-sender" else given)

    answer = wire.push([], [sender, record])

    assert answer.status_code == status, answer.text
    if server.sim is not None and status == 200:  # kept with the record `make run` uses
        kept = server.sim.store.conn.execute(
            "SELECT data FROM members WHERE member_id = ?", (record["member_id"],)
        ).fetchone()
        assert json.loads(kept[0])["referrer_id"] == sender["member_id"]
    if server.hub is not None and status == 200:
        held = server.hub.sql(
            "SELECT referrer_id, state FROM hub_referral WHERE member_id = %s", record["member_id"]
        )
        assert held == [(sender["member_id"], "pending")]
