"""Branches and devices managed from the panel's service, with a real kiosk on `hub serve`.

A device added there gets a one-time code a kiosk provisions with; its heartbeat gives its
health; a revocation stops it; a manager acts on their own branch's devices only.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from kiosk.core.clock import ManualClock
from tests.hub.conftest import Hub, HubServer
from tests.hub.test_kiosk_on_the_hub import Kiosk
from tests.hub.test_program_versions_hub import in_hub

SCOPE = (
    "from hub.devices.models import Branch\n"
    "from hub.devices import management\n"
    "allowed = None if args.get('allowed') is None else "
    "[Branch.objects.get(name=args['allowed']).pk]\n"
)


def devices(hub: Hub, allowed: str | None = None, later: int = 0) -> Any:
    return in_hub(
        hub,
        SCOPE
        + "from datetime import timedelta\nfrom django.utils import timezone\n"
        + "now = timezone.now() + timedelta(minutes=args['later'])\n"
        + "result = [[d.number, d.branch, d.device_id, d.health.state, "
        + "[r.code for r in d.health.reasons], d.health.version, d.health.queue_depth] "
        + "for d in management.devices(allowed, now)]",
        allowed=allowed,
        later=later,
    )


@pytest.fixture(autouse=True)
def branches(hub: Hub) -> None:
    for name in ("Valiasr", "Tajrish"):
        added = in_hub(hub, SCOPE + "result = management.add_branch(args['name']).name", name=name)
        assert added == name


def test_a_device_added_from_the_panel_provisions_a_kiosk_whose_heartbeat_gives_its_health(
    hub: Hub, hub_server: HubServer, tmp_path: Path, clock: ManualClock
):
    issued = in_hub(
        hub,
        SCOPE + "b = Branch.objects.get(name='Valiasr')\n"
        "i = management.add_device(b.pk, allowed)\n"
        "result = [i.device.pk, i.code]",
    )
    assert devices(hub)[0][3] == "waiting"
    kiosk = Kiosk(tmp_path / "kiosk", hub_server.url, clock, "kiosk-valiasr-1")
    try:
        kiosk.provision(issued[1])
        _, _, heard = kiosk.sync()

        assert heard is True
        ((number, branch, device_id, state, reasons, version, queue),) = devices(hub)
        assert (number, branch, device_id, state, reasons) == (
            issued[0],
            "Valiasr",
            "kiosk-valiasr-1",
            "ok",
            [],
        )
        assert version and queue == 0
        assert devices(hub, later=61)[0][3:5] == ["attention", ["silent"]]

        revoked = in_hub(hub, SCOPE + "result = management.revoke(args['n'], None)[1]", n=number)
        kiosk.sync()

        assert revoked is True and devices(hub)[0][3] == "revoked"
        assert kiosk.service.sync_state.get("credentials_refused") is True
    finally:
        kiosk.appliance.forget_client()
        kiosk.service.close()


def test_a_manager_sees_and_acts_on_their_own_branchs_devices_only(hub: Hub):
    hub.new_device("Valiasr")
    (tajrish,) = [hub.new_device("Tajrish")]

    seen = devices(hub, allowed="Valiasr")
    revoking = in_hub(
        hub,
        SCOPE + "result = management.revoke(args['n'], allowed)",
        n=tajrish["device"],
        allowed="Valiasr",
    )
    coding = in_hub(
        hub,
        SCOPE + "result = management.new_code(args['n'], allowed).code",
        n=tajrish["device"],
        allowed="Valiasr",
    )
    adding = in_hub(
        hub,
        SCOPE + "result = management.add_device(Branch.objects.get(name='Tajrish').pk, allowed)",
        allowed="Valiasr",
    )

    assert [d[1] for d in seen] == ["Valiasr"]
    assert revoking == coding == {"problem": "No such device."}
    assert adding == {"problem": "No such branch."}
    assert hub.sql("SELECT count(*) FROM hub_device WHERE revoked_at IS NOT NULL") == [(0,)]
    assert hub.sql("SELECT count(*) FROM hub_device") == [(2,)]


@pytest.mark.parametrize(("name", "said"), [("", "Name the branch"), ("Valiasr", "exists")])
def test_a_branch_without_a_name_or_with_a_taken_one_is_refused(hub: Hub, name: str, said: str):
    refused = in_hub(hub, SCOPE + "result = management.add_branch(args['name'])", name=name)

    assert said in refused["problem"]
    assert hub.sql("SELECT count(*) FROM hub_branch") == [(2,)]


def test_the_dashboard_and_the_devices_page_flag_a_device_at_the_same_thresholds(hub: Hub):
    pairs = in_hub(
        hub,
        """
        from hub.devices import health
        from hub.insights.devices import Thresholds
        t = Thresholds()
        result = [
            [health.SILENT_AFTER.total_seconds(), t.unseen_hours * 3600],
            [health.QUEUE_DEPTH_LIMIT, t.queue_depth],
            [health.UNSYNCED_AGE_LIMIT.total_seconds(), t.unsynced_hours * 3600],
            [health.CLOCK_OFFSET_LIMIT_MS, t.clock_offset_ms],
            [health.DISK_FREE_LIMIT, t.disk_free_bytes],
        ]
        """,
    )

    assert all(mine == dashboard for mine, dashboard in pairs), pairs
