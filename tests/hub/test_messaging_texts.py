"""Wording in both languages with placeholders, and a campaign's preview against its send."""

from __future__ import annotations

import pytest

from hub.errors import HubError
from tests.hub.conftest import Hub
from tests.hub.test_messaging_support import add_member, messaging

__all__ = ["messaging"]


def test_a_chains_own_wording_replaces_the_default_in_that_language_only(messaging: Hub) -> None:
    from hub.messaging import texts

    texts.save("receipt", "fa", "{shop}: +{points} = {balance}")

    assert texts.wording("receipt", "fa") == "{shop}: +{points} = {balance}"
    assert texts.wording("receipt", "en") == texts.DEFAULTS[("receipt", "en")]


@pytest.mark.parametrize(
    ("kind", "body", "complaint"),
    [
        ("receipt", "{shop} {pionts}", "unknown placeholders pionts"),
        ("campaign", "{shop} {text}", "opt-out link"),
        ("receipt", "{shop", "braces"),
        ("nonsense", "hi", "no message kind"),
    ],
)
def test_wording_with_a_mistake_is_refused_when_saved(
    messaging: Hub, kind: str, body: str, complaint: str
) -> None:
    from hub.messaging import texts

    with pytest.raises(HubError, match=complaint):
        texts.save(kind, "fa", body)


def test_every_default_renders_with_its_placeholders() -> None:
    from hub.messaging import texts

    for (kind, _language), body in texts.DEFAULTS.items():
        values = dict.fromkeys(texts.PLACEHOLDERS[kind], "x")
        assert "{" not in texts.render(body, values)
        assert texts.fields(body) <= texts.PLACEHOLDERS[kind]


def test_a_campaigns_preview_matches_what_it_queues_and_a_second_queue_adds_nothing(
    messaging: Hub,
) -> None:
    from hub.messaging.campaigns import preview_campaign, queue_campaign

    add_member(messaging, "fa1", "+989120000001", language="fa")
    add_member(messaging, "en1", "+989120000002", language="en")
    add_member(messaging, "no1", "+989120000003", consent=False)
    segment = ["fa1", "en1", "no1", "missing"]

    preview = preview_campaign(segment, values={"text": "۲۰٪ تخفیف تا جمعه"})
    queued = queue_campaign(segment, name="spring", values={"text": "۲۰٪ تخفیف تا جمعه"})
    again = queue_campaign(segment, name="spring", values={"text": "۲۰٪ تخفیف تا جمعه"})
    rows = messaging.sql("SELECT language, sum(parts), sum(cost) FROM hub_message GROUP BY 1")

    assert (preview.members, preview.without_consent) == (2, 1)
    assert (queued, again) == (2, 0)
    assert preview.parts == sum(int(r[1]) for r in rows)
    assert preview.cost == sum(int(r[2]) for r in rows)


def test_a_campaign_skips_members_at_their_frequency_cap(messaging: Hub) -> None:
    from hub.messaging.campaigns import queue_campaign

    add_member(messaging, "m1", "+989120000001")
    add_member(messaging, "m2", "+989120000002")
    for name in ("one", "two"):
        queue_campaign(["m1"], name=name, values={"text": "x"})

    third = queue_campaign(["m1", "m2"], name="three", values={"text": "x"})

    assert third == 1
    assert messaging.sql(
        "SELECT member_id FROM hub_message WHERE split_part(key, ':', 2) = 'three'"
    ) == [("m2",)]
