"""The panel's program service on a real hub: a draft published from it reaches a kiosk.

The service is called as the panel's views call it, inside the hub's Django (a `python -c`
in a subprocess with the hub's environment, as the hub's other tests run `hub`); the
kiosk is a real one on `hub serve`, pulling over HTTP.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hub.program.draft import read_draft, values_of
from hub.program.preview import preview
from kiosk.core.clock import ManualClock
from tests.hub.conftest import Hub, HubServer
from tests.hub.test_kiosk_on_the_hub import Kiosk

ROOT = Path(__file__).resolve().parents[2]
_SETUP = (
    "import django, json, os, sys\n"
    "os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'hub.settings')\n"
    "django.setup()\n"
    "args = json.loads(sys.stdin.read())\n"
)


def in_hub(hub: Hub, code: str, **args: Any) -> Any:
    """Run `code` inside the hub's Django (`args` as a dict); what it leaves in `result`.

    A `Problem` raised by the service comes back as {"problem": its English text}.
    """
    body = textwrap.indent(textwrap.dedent(code), "    ")
    probe = (
        _SETUP
        + "from hub.program.wording import Problem\n"
        + "try:\n"
        + body
        + "\nexcept Problem as exc:\n    result = {'problem': exc.said.en}\n"
        + "print(json.dumps(result, default=str))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe],
        env=hub.env,
        cwd=ROOT,
        input=json.dumps(args),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if done.returncode != 0:
        pytest.fail(f"in the hub: {done.stderr}")
    return json.loads(done.stdout.splitlines()[-1])


@pytest.fixture
def kiosk(hub: Hub, hub_server: HubServer, tmp_path: Path, clock: ManualClock) -> Iterator[Kiosk]:
    opened = Kiosk(tmp_path / "kiosk", hub_server.url, clock, "kiosk-valiasr-1")
    opened.provision(hub.new_device()["code"])
    yield opened
    opened.appliance.forget_client()
    opened.service.close()


def test_a_draft_published_from_the_panels_service_reaches_a_kiosk_which_quotes_by_it(
    hub: Hub, kiosk: Kiosk
):
    current = in_hub(hub, "from hub.program import versions\nresult = versions.current_data()")
    values = values_of(current, "toman") | {"per_amount": "5,000", "max_points_per_purchase": "0"}
    draft = read_draft(values, "toman")
    assert draft.data is not None

    published = in_hub(
        hub,
        """
        from hub.program import versions
        result = versions.publish_draft(args["data"], by="owner").version
        """,
        data=draft.data,
    )
    _, pulled, _ = kiosk.sync()
    kiosk.service.reload_program()
    member_id = kiosk.service.enroll("09121234567", client_txn_id="enroll-1").member_id
    quote = kiosk.service.quote(member_id, 12_500_000)  # 1,250,000 Toman

    assert published == 2 and pulled.applied.get("program") == 2  # versions 1 and 2
    shown = preview(draft.data, 12_500_000)
    assert quote.points == shown.tiers[0].points == 250  # bronze: 1 point a 5,000 Toman
    history = in_hub(
        hub,
        """
        from hub.program import versions
        result = [
            [v.version, v.published_by, [(d.field, d.before, d.after) for d in v.changes]]
            for v in versions.history()
        ]
        """,
    )
    assert history == [
        [2, "owner", [["per_amount", 100_000, 50_000], ["max_points_per_purchase", 5_000, 0]]],
        [1, "", []],
    ]


def test_a_draft_that_changes_nothing_is_not_a_new_version(hub: Hub):
    refused = in_hub(
        hub,
        """
        from hub.errors import HubError
        from hub.program import versions
        try:
            versions.publish_draft(versions.current_data(), by="owner")
            result = "published"
        except HubError as exc:
            result = str(exc)
        """,
    )

    assert refused == "nothing changed: the draft is the program in force"
    assert hub.sql("SELECT max(version) FROM hub_program") == [(1,)]
