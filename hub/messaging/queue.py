"""The outbox as a queue: claim due messages, record each outcome, recover lapsed claims.

Our own table with `SELECT ... FOR UPDATE SKIP LOCKED` (docs/messaging.md says why):
- `claim` takes a batch in one short transaction: due messages become `sending` with a
  lease and a claim token; several workers never take the same row.
- each outcome (`sent` with the gateway's id, a retry time, `failed`) is one UPDATE
  guarded by the claim token: the result and the state change commit together.
- a claim whose lease lapsed (a worker killed mid-batch) is taken again as *recovering*:
  before sending, the worker asks the gateway whether it has the message already
  (Kavenegar, by our local id) or, where it cannot ask (SMS.ir), sends only messages never
  handed over and marks the others `failed`, "outcome unknown", never sending twice.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.db.models import F

from hub.members.models import Member
from hub.messaging import limits
from hub.messaging.models import Message, OptOut

LEASE = timedelta(minutes=5)  # longer than a batch takes (each send times out in 20 s)


@dataclass
class Claimed:
    """A message a worker holds: its row, the claim's token, and whether it is recovered."""

    message: Message
    token: uuid.UUID
    recovering: bool


def claim(*, now: datetime, limit: int, lease: timedelta = LEASE) -> list[Claimed]:
    """Take up to `limit` due messages (lapsed claims first); hold marketing that may not go."""
    token = uuid.uuid4()
    claimed: list[Claimed] = []
    with transaction.atomic():
        lapsed = list(
            Message.objects.select_for_update(skip_locked=True)
            .filter(state="sending", lease_until__lt=now)
            .order_by("lease_until")[:limit]
        )
        due = list(
            Message.objects.select_for_update(skip_locked=True)
            .filter(state="queued", not_before__lte=now)
            .order_by("not_before")[: limit - len(lapsed)]
        )
        due = _admit(due, now)
        rows = lapsed + due
        if rows:
            Message.objects.filter(pk__in=[m.pk for m in rows]).update(
                state="sending", lease_until=now + lease, claim=token
            )
            Message.objects.filter(pk__in=[m.pk for m in due]).update(attempts=F("attempts") + 1)
        for message in lapsed:
            claimed.append(Claimed(message, token, recovering=True))
        for message in due:
            message.attempts += 1
            claimed.append(Claimed(message, token, recovering=False))
    return claimed


def _admit(due: list[Message], now: datetime) -> list[Message]:
    """The due messages that may go now; the others expired, cancelled or held (in place)."""
    expired = [m.pk for m in due if m.expires_at <= now]
    if expired:
        Message.objects.filter(pk__in=expired).update(
            state="expired", finished_at=now, error="its deadline passed before it was sent"
        )
    live = [m for m in due if m.expires_at > now]
    marketing = [m for m in live if m.marketing]
    if not marketing:
        return live
    rules = limits.policy()
    refused = _without_consent(marketing)
    if refused:
        Message.objects.filter(pk__in=refused).update(
            state="cancelled", finished_at=now, error="consent withdrawn"
        )
    held: dict[int, datetime] = {}
    if limits.in_quiet_hours(now, rules):
        until = limits.after_quiet_hours(now, rules)
        held = {m.pk: until for m in marketing if m.pk not in refused}
    else:
        budget_left = rules.daily_budget - limits.spent_today(now, rules)
        tomorrow = limits.next_day(now, rules)
        for message in marketing:
            if message.pk in refused:
                continue
            budget_left -= message.cost
            if budget_left < 0:
                held[message.pk] = tomorrow
    for pk, until in held.items():
        Message.objects.filter(pk=pk).update(not_before=until)
    return [m for m in live if m.pk not in refused and m.pk not in held]


def _without_consent(marketing: list[Message]) -> set[int]:
    """Marketing messages whose member withdrew consent or whose phone opted out since."""
    members = {
        m.member_id: m
        for m in Member.objects.filter(member_id__in={msg.member_id for msg in marketing})
    }
    opt_outs = {
        o.phone: o.at for o in OptOut.objects.filter(phone__in={m.phone for m in marketing})
    }
    refused = set()
    for message in marketing:
        member = members.get(message.member_id or "")
        if member is None or member.status != "active" or not member.consent_marketing:
            refused.add(message.pk)
            continue
        opted = opt_outs.get(message.phone)
        if opted is not None and (member.consent_at is None or opted >= member.consent_at):
            refused.add(message.pk)
    return refused


def _held(item: Claimed) -> dict[str, object]:
    return {"pk": item.message.pk, "claim": item.token, "state": "sending"}


def handing(item: Claimed, now: datetime) -> None:
    """Mark that the message is about to reach a gateway that cannot dedupe it."""
    Message.objects.filter(**_held(item)).update(handed_at=now)


def sent(item: Claimed, gateway: str, gateway_message_id: str, now: datetime) -> bool:
    """The gateway took it: `sent`, with its id (False: the claim was lost to a recovery)."""
    done = Message.objects.filter(**_held(item)).update(
        state="sent",
        gateway=gateway,
        gateway_message_id=gateway_message_id,
        sent_at=now,
        lease_until=None,
        error="",
    )
    return done == 1


def sent_many(items: list[tuple[Claimed, str, datetime]], gateway: str) -> int:
    """sent() for a batch at once: (claimed, the gateway's id, when); how many were recorded."""
    if not items:
        return 0
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE hub_message AS m SET state = 'sent', gateway = %s,"
            " gateway_message_id = v.gateway_id, sent_at = v.at, lease_until = NULL, error = ''"
            " FROM unnest(%s::bigint[], %s::text[], %s::timestamptz[], %s::uuid[])"
            " AS v(id, gateway_id, at, claim)"
            " WHERE m.id = v.id AND m.claim = v.claim AND m.state = 'sending'",
            [
                gateway,
                [item.message.pk for item, _, _ in items],
                [gateway_id for _, gateway_id, _ in items],
                [at for _, _, at in items],
                [item.token for item, _, _ in items],
            ],
        )
        return int(cursor.rowcount)


def finished(item: Claimed, state: str, error: str, now: datetime) -> None:
    """It ends here: failed or expired, with the reason."""
    Message.objects.filter(**_held(item)).update(
        state=state, error=error, finished_at=now, lease_until=None
    )


def retry(item: Claimed, when: datetime, error: str, *, count: bool = True) -> None:
    """Back to the queue until `when` (`count`: the attempt counted; a throttled batch's
    untouched messages did not try). A recovered message stays `sending` with its lease
    moved: it keeps being handled as one that may have gone out."""
    held = Message.objects.filter(**_held(item))
    if item.recovering:
        held.update(lease_until=when, error=error)
    elif count:
        held.update(state="queued", not_before=when, lease_until=None, claim=None, error=error)
    else:
        held.update(
            state="queued",
            not_before=when,
            lease_until=None,
            claim=None,
            attempts=F("attempts") - 1,
        )
