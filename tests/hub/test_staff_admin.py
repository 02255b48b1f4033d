"""Staff managed from the panel's service reach a real kiosk: added, disabled, a PIN reset.

Each change is signed with the owner's key as `hub staff put` signs it; the kiosk applies
it at its next pull. A manager of another branch changes nothing of this branch's staff.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kiosk.core.clock import ManualClock
from kiosk.errors import StaffDisabled, WrongPin
from tests.hub.conftest import Hub, HubServer
from tests.hub.test_kiosk_on_the_hub import Kiosk
from tests.hub.test_program_versions_hub import in_hub

PUT = """
from hub.devices.models import Branch
from hub.program import staff
branch = Branch.objects.get(name=args["branch"])
allowed = None if args["allowed"] is None else [Branch.objects.get(name=args["allowed"]).pk]
result = staff.put(
    staff_id=args["staff_id"], name=args["name"], role=args["role"], branch_id=branch.pk,
    cards=args["cards"], disabled=False, pin=args["pin"], allowed=allowed, by="owner",
).staff_id
"""


def put(hub: Hub, **changes: Any) -> Any:
    args = {
        "staff_id": "s-reza",
        "name": "رضا",
        "role": "cashier",
        "branch": "Valiasr",
        "cards": ["5a5a5a5a"],
        "pin": "4826",
        "allowed": None,
    } | changes
    return in_hub(hub, PUT, **args)


def change(hub: Hub, call: str, allowed: str | None = None, **args: Any) -> Any:
    code = (
        "from hub.devices.models import Branch\n"
        "from hub.program import staff\n"
        "allowed = None if args['allowed'] is None else "
        "[Branch.objects.get(name=args['allowed']).pk]\n"
        f"result = staff.{call}.disabled\n"
    )
    return in_hub(hub, code, allowed=allowed, **args)


@pytest.fixture(autouse=True)
def branches(hub: Hub) -> None:
    hub.run("branch", "add", "Valiasr")
    hub.run("branch", "add", "Tajrish")


@pytest.fixture
def kiosk(hub: Hub, hub_server: HubServer, tmp_path: Path, clock: ManualClock) -> Iterator[Kiosk]:
    opened = Kiosk(tmp_path / "kiosk", hub_server.url, clock, "kiosk-valiasr-1")
    opened.provision(hub.new_device("Valiasr")["code"])
    yield opened
    opened.appliance.forget_client()
    opened.service.close()


def test_a_cashier_disabled_from_the_panel_is_refused_at_the_kiosk_after_its_pull(
    hub: Hub, kiosk: Kiosk
):
    assert put(hub) == "s-reza"
    kiosk.sync()
    assert kiosk.service.staff.login_with_pin("4826", "s-reza").actor_id == "s-reza"

    disabled = change(hub, "set_disabled(args['id'], True, allowed, by='owner')", id="s-reza")
    _, pulled, _ = kiosk.sync()

    assert disabled is True and pulled.applied.get("staff") == 1
    with pytest.raises(StaffDisabled):
        kiosk.service.staff.login_with_pin("4826", "s-reza")
    ((branch, by),) = hub.sql(
        "SELECT b.name, s.published_by FROM hub_staff s JOIN hub_branch b ON b.id = s.branch_id"
    )
    assert (branch, by) == ("Valiasr", "owner")


def test_a_pin_reset_from_the_panel_works_at_the_kiosk_and_the_old_one_no_longer(
    hub: Hub, kiosk: Kiosk
):
    put(hub)
    kiosk.sync()

    change(hub, "reset_pin(args['id'], '۵۹۳۷', allowed, by='owner')", id="s-reza")
    kiosk.sync()

    assert kiosk.service.staff.login_with_pin("5937", "s-reza").actor_id == "s-reza"
    with pytest.raises(WrongPin):
        kiosk.service.staff.login_with_pin("4826", "s-reza")
    (data,) = hub.sql("SELECT data FROM hub_staff")
    assert data[0]["cards"] == ["5A5A5A5A"] and data[0]["name"] == "رضا"  # the rest kept


def test_a_manager_of_another_branch_changes_none_of_this_branchs_staff(hub: Hub):
    put(hub)
    before = hub.sql("SELECT count(*) FROM hub_change WHERE type = 'staff'")

    disabling = change(
        hub, "set_disabled(args['id'], True, allowed, by='m')", allowed="Tajrish", id="s-reza"
    )
    resetting = change(
        hub, "reset_pin(args['id'], '5937', allowed, by='m')", allowed="Tajrish", id="s-reza"
    )
    taking_over = put(hub, branch="Tajrish", allowed="Tajrish", pin="7315")
    listed = in_hub(
        hub,
        "from hub.devices.models import Branch\nfrom hub.program import staff\n"
        "result = [s.staff_id for s in staff.listing([Branch.objects.get(name='Tajrish').pk])]",
    )

    assert disabling == resetting == taking_over == {"problem": "No such staff member."}
    assert listed == []
    assert hub.sql("SELECT count(*) FROM hub_change WHERE type = 'staff'") == before


@pytest.mark.parametrize(
    ("changes", "said"),
    [
        ({"pin": "1234"}, "too easy to guess"),
        ({"pin": "12"}, "4 to 8 digits"),
        ({"role": "technician"}, "made at the kiosk itself"),
        ({"cards": ["not-a-card"]}, "hex digits"),
        ({"name": " "}, "Give a name"),
        ({"staff_id": "s-nima", "pin": "4826"}, "Another active person has this PIN"),
    ],
)
def test_what_no_kiosk_should_take_is_refused_with_a_reason(
    hub: Hub, changes: dict[str, Any], said: str
):
    put(hub)

    refused = put(hub, **changes)

    assert said in refused["problem"]
    assert hub.sql("SELECT count(*) FROM hub_change WHERE type = 'staff'") == [(1,)]
