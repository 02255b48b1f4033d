"""A staff member disabled at the hub never signs in again from an older signed change.

Every staff change the hub signs carries `signed_at` (the time it was made, UTC with
microseconds, inside the signed data), from `hub staff put` and from the panel alike, and
later than the person's last one even with the hub's clock set back. A real kiosk on a real
hub (`hub serve` on PostgreSQL): the cashier is disabled after last night's dump, the hub
is restored from that dump (another database: another feed epoch), the kiosk reads the
restored feed again from 0 and refuses the dump's "active" (`not_newer`): the cashier
stays out at the counter all along, and the owner's disable made again is taken.
"""

from __future__ import annotations

from pathlib import Path

from kiosk.core.clock import ManualClock
from kiosk.core.service import LoyaltyService
from kiosk.core.store import audit
from kiosk.errors import StaffDisabled
from tests.hub.conftest import Hub, HubServer
from tests.hub.test_program import feed, owner_of
from tests.hub.test_program_versions_hub import in_hub
from tests.hub.test_restored_hub import copy_of, kiosk_at, sync

STAFF = "s-hub-1"


def put(hub: Hub, *flags: str, pin: str | None = None) -> None:
    args = ["staff", "put", "--staff-id", STAFF, "--name", "Reza", "--role", "cashier"]
    hub.run(*args, *flags, *(["--pin-stdin"] if pin else []), stdin=f"{pin}\n" if pin else "")


def signs_in(service: LoyaltyService) -> str:
    try:
        return service.staff.login_with_pin("4826", STAFF).role
    except StaffDisabled:
        return "disabled"


def held(service: LoyaltyService) -> str:
    row = service.conn.execute("SELECT signed_at FROM staff WHERE staff_id = ?", (STAFF,))
    return str(row.fetchone()[0])


def refused(service: LoyaltyService) -> list[object]:
    records = audit.recent(service.conn, 1000)
    return [r.details.get("reason") for r in records if r.actor == "crm" and r.outcome != "ok"]


def test_a_cashier_disabled_after_the_dump_stays_out_through_the_hubs_restore(
    hub: Hub, clock: ManualClock, tmp_path: Path
):
    server = HubServer(hub).start()
    address = server.url.removeprefix("http://")
    kiosk = kiosk_at(server.url, tmp_path / "kiosk", clock)
    service = kiosk.open_service()
    try:
        kiosk.provision(service, crm_url=server.url, code=hub.new_device()["code"])
        put(hub, pin="4826")
        sync(kiosk)
        assert signs_in(service) == "cashier"
        server.stop()
        dump = copy_of(hub, hub.database)  # last night's dump
        server = HubServer(hub, bind=address).start()

        put(hub, "--disabled")  # the owner fires the cashier in the morning
        sync(kiosk)
        assert signs_in(service) == "disabled"
        ((active, _), (disabled, signature)) = feed(hub, "staff")
        assert owner_of(hub).verify("staff", disabled, signature)  # signed_at is signed
        assert active["signed_at"] < disabled["signed_at"] == held(service)
        server.stop()

        restored = copy_of(dump, dump.database)  # the hub restored: "active" again there
        server = HubServer(restored, bind=address).start()
        sync(kiosk)  # another epoch: the restored feed is read again from 0

        assert signs_in(service) == "disabled"
        assert refused(service)[0] == "not_newer"
        assert held(service) == disabled["signed_at"]

        put(restored, "--disabled")  # the owner makes the lost change again
        sync(kiosk)
        assert signs_in(service) == "disabled"
        ((_, _), (again, _)) = feed(restored, "staff")
        assert again["signed_at"] > disabled["signed_at"] and held(service) == again["signed_at"]
    finally:
        server.stop(graceful=False)
        kiosk.forget_client()
        service.close()


SIGNED_AT = """
from datetime import UTC, datetime
from hub.program import publish, staff
from hub.program.models import Staff
late, early = datetime(2100, 1, 1, tzinfo=UTC), datetime(2026, 1, 1, tzinfo=UTC)
publish.put_staff(
    staff_id="s-x", name="X", role="cashier", pin="4826", cards=[], disabled=False, now=late
)
first = Staff.objects.get(staff_id="s-x").data["signed_at"]
# The hub's clock set back: the next change still comes after the last one.
publish.put_staff(staff_id="s-x", name="X", role="cashier", pin=None, cards=[], disabled=False,
                  now=early)
second = Staff.objects.get(staff_id="s-x").data["signed_at"]
staff.set_disabled("s-x", True, None, "owner")  # the panel's, at the hub's clock (today)
third = Staff.objects.get(staff_id="s-x").data["signed_at"]
result = [first, second, third]
"""


def test_every_staff_change_the_hub_signs_has_a_later_signed_at_than_the_last(hub: Hub):
    first, second, third = in_hub(hub, SIGNED_AT)

    assert first == "2100-01-01T00:00:00.000000Z"
    assert second == "2100-01-01T00:00:00.000001Z"
    assert third == "2100-01-01T00:00:00.000002Z"  # the hub's clock (today) is before 2100
    signed = [data["signed_at"] for data, _ in feed(hub, "staff")]
    assert signed == [first, second, third]
