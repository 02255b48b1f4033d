"""The CRM's answers, over real HTTP on loopback: the client takes a good answer or raises
CrmError, and the sync worker acknowledges only what a good push answer says."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sync.client import CrmError
from sync.worker import DrainResult
from tests.fuzz.answers import (
    BELOW_400,
    SUCCESS,
    answers,
    change_pages,
    enroll_answers,
    heartbeat_answers,
    is_count,
    is_count_or_bool,
    push_answers,
)
from tests.fuzz.crm import Answer, FuzzCrm, client_for, crm_answer, pending, worker_for
from tests.fuzz.database import Template, fingerprint, fresh_kiosk
from tests.fuzz.defects import FUZZ, attempt, defect_test, holds_or_known, tried


@FUZZ
@given(data=st.data())
def test_crm_client_takes_a_good_answer_or_raises_crm_error(
    crm: FuzzCrm, template: Template, data: st.DataObject
) -> None:
    operation = data.draw(st.sampled_from(["push", "changes", "heartbeat", "enroll"]))
    tried(f"crm.client_{operation}")
    shaped = {
        "push": push_answers(template),
        "changes": change_pages(template),
        "heartbeat": heartbeat_answers(),
        "enroll": enroll_answers(),
    }[operation]
    crm.serve(data.draw(answers(shaped)))
    client = client_for(crm)
    calls: dict[str, Callable[[], Any]] = {
        "push": lambda: client.push([], []),
        "changes": lambda: client.changes(0),
        "heartbeat": lambda: client.heartbeat({"queue_depth": 0}),
        "enroll": lambda: client.enroll("K7Q2-M9XA"),
    }
    try:
        out = attempt(calls[operation], (CrmError,))
    finally:
        client.close()
    if out.kind != "ok":
        return
    if operation == "push":
        assert is_count(out.value.high_water)
        assert all(isinstance(r, dict) for r in out.value.rejected)
    elif operation == "changes":
        assert is_count(out.value.next_cursor) and isinstance(out.value.more, bool)
        assert all(isinstance(change, dict) for change in out.value.changes)
    elif operation == "enroll":
        assert isinstance(out.value, bytes) and len(out.value) >= 16


@FUZZ
@given(data=st.data())
def test_the_worker_acknowledges_only_what_a_good_push_answer_says(
    crm: FuzzCrm, template: Template, tmp_path: Path, data: st.DataObject
) -> None:
    tried("crm.worker_drain")
    answer = data.draw(answers(push_answers(template)))
    with fresh_kiosk(template, tmp_path) as kiosk:
        client = client_for(crm)
        worker = worker_for(kiosk, client)
        waiting, refused = pending(kiosk.conn), pending(kiosk.conn, "rejected")
        ledger = fingerprint(kiosk.db, ["entries", "members", "people", "cards"])
        mark = crm.serve(answer)
        out = attempt(lambda: worker.drain(max_batches=3, ignore_backoff=True), ())
        client.close()
        if out.kind == "ok":
            assert isinstance(out.value, DrainResult)
            assert out.value.stopped in {"empty", "backoff", "error", "credentials", "limit"}
        served = [a for _, path, a in crm.since(mark) if path == "/v2/push"]
        now_waiting, now_refused = pending(kiosk.conn), pending(kiosk.conn, "rejected")
        flagged = set(now_refused.items()) - set(refused.items())
        gone = set(waiting) - set(now_waiting) - {seq for seq, _ in flagged}

        def acknowledged_as_told(statuses: range, seq_ok: Callable[[Any], bool]) -> bool:
            good = [a.intended for a in served if a.status in statuses]
            good = [doc for doc in good if isinstance(doc, dict)]
            marks = [doc["high_water"] for doc in good if is_count(doc.get("high_water"))]
            named = {
                (r.get("seq"), r.get("entry_id"))
                for doc in good
                if isinstance(doc.get("rejected"), list)
                for r in doc["rejected"]
                if isinstance(r, dict)
                and seq_ok(r.get("seq"))
                and isinstance(r.get("entry_id"), str)
            }
            below_mark = all(seq <= max(marks) for seq in gone) if marks else not gone
            return below_mark and flagged <= named

        holds_or_known(
            lambda: acknowledged_as_told(SUCCESS, is_count),
            [
                (
                    "crm_redirect_taken_as_success",
                    lambda: acknowledged_as_told(BELOW_400, is_count),
                ),
                ("outbox_boolean_seq", lambda: acknowledged_as_told(BELOW_400, is_count_or_bool)),
            ],
            f"acknowledged {sorted(gone)}, flagged {flagged}: not as told",
        )
        assert fingerprint(kiosk.db, ["entries", "members", "people", "cards"]) == ledger
        assert not kiosk.conn.in_transaction
        attempt(worker.status, ())


@FUZZ
@given(data=st.data())
def test_a_heartbeat_answer_never_breaks_the_worker(
    crm: FuzzCrm, template: Template, tmp_path: Path, data: st.DataObject
) -> None:
    tried("crm.worker_heartbeat")
    answer = data.draw(answers(heartbeat_answers()))
    with fresh_kiosk(template, tmp_path) as kiosk:
        client = client_for(crm)
        worker = worker_for(kiosk, client)
        before = fingerprint(kiosk.db, keep=lambda table, row: table != "sync_state")
        crm.serve(answer)
        out = attempt(worker.heartbeat, ())
        client.close()
        if out.kind == "ok":
            assert isinstance(out.value, bool)
        assert fingerprint(kiosk.db, keep=lambda table, row: table != "sync_state") == before


# -- defects found here, each shown by one input (KNOWN_DEFECTS in defects.py) ------------
#
# Each test states what should happen; while its defect is open it fails as the reason says.


@defect_test("crm_retry_after_digits")
def test_defect_crm_retry_after_superscript_digit(crm: FuzzCrm) -> None:
    answer = Answer("shaped", 429, b"{}", (("Retry-After", "²"),))
    with pytest.raises(CrmError):
        crm_answer(crm, answer, lambda client: client.push([], []))


@defect_test("crm_date_without_zone")
def test_defect_crm_date_header_without_zone(crm: FuzzCrm) -> None:
    body = b'{"high_water": 0}'
    answer = Answer("shaped", 200, body, (("Date", "Sun, 01 Mar 2026 09:00:00 -0000"),))
    assert crm_answer(crm, answer, lambda client: client.push([], [])).high_water == 0


@defect_test("crm_error_body_nesting")
def test_defect_crm_error_answer_deeply_nested(crm: FuzzCrm) -> None:
    answer = Answer("nested", 500, b"[" * 100_000 + b"]" * 100_000)
    with pytest.raises(CrmError):
        crm_answer(crm, answer, lambda client: client.push([], []))


@defect_test("worker_far_retry_after")
def test_defect_worker_status_after_a_far_retry_after(
    crm: FuzzCrm, template: Template, tmp_path: Path
) -> None:
    with fresh_kiosk(template, tmp_path) as kiosk:
        client = client_for(crm)
        worker = worker_for(kiosk, client)
        crm.serve(Answer("shaped", 503, b"{}", (("Retry-After", "99999999999999"),)))
        assert worker.drain().stopped == "backoff"
        client.close()
        assert worker.status().next_attempt_at


@defect_test("outbox_rejected_without_entry_id")
def test_defect_push_answer_rejecting_a_seq_not_in_the_batch(
    crm: FuzzCrm, template: Template, tmp_path: Path
) -> None:
    body = json.dumps({"high_water": 0, "rejected": [{"seq": 0, "code": "x"}]}).encode()
    with fresh_kiosk(template, tmp_path) as kiosk:
        client = client_for(crm)
        worker = worker_for(kiosk, client)
        crm.serve(Answer("shaped", 200, body))
        try:
            assert worker.drain().stopped == "backoff"
        finally:
            client.close()


@defect_test("crm_redirect_taken_as_success")
def test_defect_crm_redirect_answer_taken_as_success(
    crm: FuzzCrm, template: Template, tmp_path: Path
) -> None:
    body = json.dumps({"high_water": 6, "stored": 6, "duplicates": 0, "rejected": []}).encode()
    with fresh_kiosk(template, tmp_path) as kiosk:
        client = client_for(crm)
        waiting = pending(kiosk.conn)
        crm.serve(Answer("shaped", 302, body))
        try:
            worker_for(kiosk, client).drain()
        finally:
            client.close()
        assert pending(kiosk.conn) == waiting


@defect_test("outbox_boolean_seq")
def test_defect_push_answer_rejecting_with_a_boolean_seq(
    crm: FuzzCrm, template: Template, tmp_path: Path
) -> None:
    first = template.entries[0][1]
    rejected = [{"entry_id": first, "seq": True, "code": "unknown_member", "message": "no"}]
    body = json.dumps({"high_water": 0, "rejected": rejected}).encode()
    with fresh_kiosk(template, tmp_path) as kiosk:
        client = client_for(crm)
        crm.serve(Answer("shaped", 200, body))
        try:
            worker_for(kiosk, client).drain()
        finally:
            client.close()
        assert pending(kiosk.conn, "rejected") == {}
