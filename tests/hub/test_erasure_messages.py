"""An erased member's SMS keep no phone and no text, and one not yet sent is never sent."""

from __future__ import annotations

from tests.hub.test_insights import Chain, at, chain

__all__ = ["chain"]  # a fixture, used by name


def test_an_erasure_strips_the_members_messages_and_stops_the_queued_ones(chain: Chain):
    from hub.members.operations import erase
    from hub.members.search import OWNER
    from hub.messaging.models import Message
    from hub.messaging.outbox import enqueue

    branch = chain.branch("North")
    chain.member("ava", at("2026-01-01 10:00"), (branch,), phone="+989121111111", name="Ava")
    chain.member("ben", at("2026-01-01 10:00"), (branch,), phone="+989122222222", name="Ben")
    sent = enqueue(
        phone="+989121111111", body="Ava, 10 points", kind="receipt", key="r1", member_id="ava"
    )
    Message.objects.filter(pk=sent.pk).update(state="delivered")
    enqueue(phone="+989121111111", body="Ava, 20 points", kind="receipt", key="r2", member_id="ava")
    enqueue(phone="+989122222222", body="Ben, 5 points", kind="receipt", key="r3", member_id="ben")

    erase("ava", OWNER)

    avas = {m.key: m for m in Message.objects.filter(member_id="ava")}
    assert {(m.phone, m.body) for m in avas.values()} == {("", "")}
    assert avas["r1"].state == "delivered"  # what happened stays (the spend, the log)
    assert avas["r2"].state == "cancelled" and avas["r2"].error == "erased"
    ben = Message.objects.get(key="r3")
    assert (ben.phone, ben.body, ben.state) == ("+989122222222", "Ben, 5 points", "queued")
