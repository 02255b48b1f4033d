"""Changes pulled from the CRM: a page is applied whole or not at all, and the kiosk still
starts whatever the CRM sent."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kiosk.bootstrap import Appliance
from kiosk.core import pulled
from sync.worker import PullResult
from tests.fuzz.answers import BELOW_400, SUCCESS, answers, change_pages, is_count
from tests.fuzz.crm import Answer, FuzzCrm, client_for, worker_for
from tests.fuzz.database import Kiosk, Template, changed, fingerprint, fresh_kiosk, fuzz_config
from tests.fuzz.defects import FUZZ, attempt, defect_test, holds_or_known, tried


def pulled_state(kiosk: Kiosk) -> dict[str, str]:
    """What a pulled page may change: members, cards, staff, balances, program, cursor."""
    return fingerprint(
        kiosk.db,
        ["members", "people", "cards", "staff", "remote_balances", "sync_state"],
        keep=lambda table, row: table != "sync_state" or row["key"] in ("cursor", "program"),
    )


@FUZZ
@given(data=st.data())
def test_a_pulled_page_is_applied_whole_or_not_at_all(
    crm: FuzzCrm, template: Template, tmp_path: Path, data: st.DataObject
) -> None:
    tried("crm.worker_pull")
    answer = data.draw(answers(change_pages(template)))
    with fresh_kiosk(template, tmp_path) as kiosk:
        client = client_for(crm)
        worker = worker_for(kiosk, client)
        start = pulled.cursor(kiosk.conn)
        before = pulled_state(kiosk)
        mark = crm.serve(answer)
        out = attempt(lambda: worker.pull(max_pages=2), ())
        client.close()
        if out.kind == "ok":
            assert isinstance(out.value, PullResult)
            assert out.value.stopped in {"done", "backoff", "error", "credentials"}
        served = [a for _, path, a in crm.since(mark) if path.startswith("/v2/changes")]
        now = pulled.cursor(kiosk.conn)
        after = pulled_state(kiosk)
        assert not kiosk.conn.in_transaction

        def applied_whole_or_not(statuses: range) -> bool:
            cursors = {
                a.intended["next_cursor"]
                for a in served
                if a.status in statuses
                and isinstance(a.intended, dict)
                and isinstance(a.intended.get("changes"), list)
                and is_count(a.intended.get("next_cursor"))
                and isinstance(a.intended.get("more"), bool)
            }
            if now == start and start not in cursors:
                return changed(before, after) == []  # no page was taken: nothing changed
            return now == start or now in cursors  # the cursor is a page's, stored with it

        holds_or_known(
            lambda: applied_whole_or_not(SUCCESS),
            [("crm_redirect_taken_as_success", lambda: applied_whole_or_not(BELOW_400))],
            f"cursor {start} -> {now}, changed {changed(before, after)}",
        )
        partial = kiosk.conn.execute(
            "SELECT m.member_id FROM members m LEFT JOIN people p USING (member_id) "
            "WHERE m.status = 'active' AND p.member_id IS NULL"
        ).fetchall()
        assert partial == [], "a member without their record"
        attempt(worker.status, ())
        # Whatever the CRM sent, the kiosk still starts.
        attempt(lambda: Appliance(fuzz_config(), kiosk.data).open_service().close(), ())


# -- defects found here, each shown by one input (KNOWN_DEFECTS in defects.py) ------------
#
# Each test states what should happen; while its defect is open it fails as the reason says.


def pull_one(crm: FuzzCrm, kiosk: Kiosk, page: dict[str, Any]) -> PullResult:
    crm.serve(Answer("shaped", 200, json.dumps(page).encode(), intended=page))
    client = client_for(crm)
    try:
        return worker_for(kiosk, client).pull()
    finally:
        client.close()


@defect_test("pull_program_not_an_object")
def test_defect_pull_program_change_that_is_not_an_object(
    crm: FuzzCrm, template: Template, tmp_path: Path
) -> None:
    page = {
        "changes": [{"cursor": 1, "type": "program", "data": "v2"}],
        "next_cursor": 1,
        "more": False,
    }
    with fresh_kiosk(template, tmp_path) as kiosk:
        assert pull_one(crm, kiosk, page).stopped in ("done", "error", "backoff")
        Appliance(fuzz_config(), kiosk.data).open_service().close()


@defect_test("pull_malformed_change")
@pytest.mark.parametrize(
    "change",
    [
        {"type": "member", "data": {"member_id": "m-1"}},
        {"type": "balance", "data": {"member_id": "?", "balance": "x"}},
        {
            "type": "staff",
            "data": {"staff_id": "s-1", "name": "A", "role": "king", "pin_hash": "x"},
        },
    ],
    ids=["member-without-phone", "balance-not-a-number", "staff-bad-role"],
)
def test_defect_pull_malformed_change_escapes_the_worker(
    crm: FuzzCrm, template: Template, tmp_path: Path, change: Any
) -> None:
    if isinstance(change, dict) and change["type"] == "balance":
        change["data"]["member_id"] = template.member_id
    page = {"changes": [change], "next_cursor": 1, "more": False}
    with fresh_kiosk(template, tmp_path) as kiosk:
        tables = ["members", "people", "cards", "staff", "remote_balances"]
        before = fingerprint(kiosk.db, tables)
        result = pull_one(crm, kiosk, page)
        # Fixed: the malformed change is skipped whole (logged, counted) and the feed goes
        # on; before, it raised out of the worker and the feed was stuck on it for good.
        assert result.stopped == "done" and result.applied == {"skipped": 1}
        assert pulled.cursor(kiosk.conn) == 1
        assert fingerprint(kiosk.db, tables) == before
