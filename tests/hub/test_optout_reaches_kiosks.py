"""An opt-out at the hub (a reply «لغو», the link) reaches the kiosks and the CRM at once:
a `member` change in the feed with consent off, and a `member.updated` event."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from tests.hub.test_insights import Chain, at, chain

__all__ = ["chain"]  # a fixture, used by name


def test_an_opt_out_reaches_the_feed_and_the_crm(chain: Chain):
    from hub.messaging.reports import opt_out

    branch = chain.branch("North")
    chain.member("ava", at("2026-01-01 10:00"), (branch,), phone="+989121111111", name="Ava")
    chain.hub.sql(
        "UPDATE hub_member SET consent_marketing = true, consent_version = 'v2',"
        " consent_at = '2026-01-01T10:00:00Z' WHERE member_id = 'ava'"
    )
    chain.member("ben", at("2026-01-01 10:00"), (branch,), phone="+989122222222", name="Ben")

    opt_out("+989121111111", "reply", datetime(2026, 6, 1, 9, 0, tzinfo=UTC))

    changes = chain.hub.sql(
        "SELECT data::text FROM hub_change WHERE type = 'member' ORDER BY cursor"
    )
    records = [json.loads(row[0]) for row in changes]
    assert [(r["member_id"], r["consent_marketing"]) for r in records] == [("ava", False)]
    events = chain.hub.sql("SELECT type, payload::text FROM hub_integration_event ORDER BY id")
    assert [(t, json.loads(p)["member_id"]) for t, p in events] == [("member.updated", "ava")]
    assert json.loads(events[0][1])["consent_marketing"] is False


def test_an_opt_out_of_a_phone_without_consent_tells_nobody(chain: Chain):
    from hub.messaging.reports import opt_out

    branch = chain.branch("North")
    chain.member("ben", at("2026-01-01 10:00"), (branch,), phone="+989122222222", name="Ben")
    opt_out("+989122222222", "link", datetime(2026, 6, 1, 9, 0, tzinfo=UTC))
    assert chain.hub.sql("SELECT count(*) FROM hub_change WHERE type = 'member'") == [(0,)]
