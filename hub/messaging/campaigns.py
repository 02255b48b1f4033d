"""Campaigns: preview who a message reaches and what it costs, then queue it.

The panel's campaign page and the birthday and win-back jobs (issue 17, later) call these
with the member ids of a segment; consent, opt-outs, quiet hours and the caps are the
outbox's (hub/messaging/outbox.py, limits.py), so a preview and a send agree.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count
from django.utils import timezone

from hub.members.models import Member
from hub.messaging import limits, links, parts, texts
from hub.messaging.models import Message, OptOut
from hub.messaging.outbox import DEFAULT_LIFETIME

_CHUNK = 2000


@dataclass(frozen=True)
class Preview:
    """How many members a campaign reaches, its SMS parts and cost (Rial)."""

    members: int
    parts: int
    cost: int
    without_consent: int


def _reachable(member_ids: Iterable[str]) -> Iterator[tuple[Member, bool]]:
    """Each member of the segment with a phone, and whether marketing may reach them."""
    ids = list(dict.fromkeys(member_ids))
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        members = list(
            Member.objects.filter(member_id__in=chunk, status="active", phone__isnull=False)
        )
        opted = dict(
            OptOut.objects.filter(phone__in=[m.phone for m in members]).values_list("phone", "at")
        )
        for member in members:
            out = opted.get(member.phone or "")
            blocked = out is not None and (member.consent_at is None or out >= member.consent_at)
            yield member, bool(member.consent_marketing) and not blocked


def _text(
    kind: str,
    member: Member,
    values: dict[str, object],
    base: str,
    wordings: dict[tuple[str, str], str],
) -> tuple[str, str]:
    language = member.language if member.language in ("fa", "en") else "fa"
    if (kind, language) not in wordings:  # read once a campaign, not once a member
        wordings[(kind, language)] = texts.wording(kind, language)
    body = wordings[(kind, language)]
    filled = {"name": member.name or "", "stop": links.url(base, member.member_id)} | values
    return language, texts.render(body, filled)


def preview_campaign(
    member_ids: Iterable[str], *, kind: str = "campaign", values: dict[str, object]
) -> Preview:
    """Members reached, SMS parts and cost, before anything is queued."""
    rules = limits.policy()
    wordings: dict[tuple[str, str], str] = {}
    base = settings.MESSAGING_PUBLIC_URL or "https://hub.invalid"
    values = {"shop": rules.shop_name} | values
    reached = total_parts = total_cost = refused = 0
    for member, allowed in _reachable(member_ids):
        if not allowed:
            refused += 1
            continue
        _, body = _text(kind, member, values, base, wordings)
        size = parts.measure(body)
        reached += 1
        total_parts += size.parts
        total_cost += parts.cost(size, price_ucs2=rules.price_ucs2, price_gsm=rules.price_gsm)
    return Preview(reached, total_parts, total_cost, refused)


def queue_campaign(
    member_ids: Iterable[str],
    *,
    name: str,
    kind: str = "campaign",
    values: dict[str, object],
    not_before: datetime | None = None,
) -> int:
    """Queue the campaign `name` to the members who consented; how many were queued.

    Each message's key is (campaign, member): queuing the same campaign again (a retry, a
    double click) adds nothing. The rules are enqueue()'s, applied a chunk of members at a
    time (one insert of 2,000 rows rather than 2,000 round trips): consent and opt-out,
    the frequency cap (under each member's lock, as enqueue takes it), quiet hours.
    """
    rules = limits.policy()
    wordings: dict[tuple[str, str], str] = {}
    base = settings.MESSAGING_PUBLIC_URL or "https://hub.invalid"
    values = {"shop": rules.shop_name} | values
    moment = timezone.now()
    due = limits.after_quiet_hours(not_before or moment, rules)
    since = moment - timedelta(days=rules.cap_days)
    queued = 0
    chunk: list[tuple[Member, str, str]] = []

    def flush() -> int:
        if not chunk:
            return 0
        ids = sorted(m.member_id for m, _, _ in chunk)
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_advisory_xact_lock(hashtext('hub_message:' || id))"
                " FROM unnest(%s::text[]) AS id ORDER BY id",
                [ids],
            )
            recent = dict(
                Message.objects.filter(member_id__in=ids, marketing=True, created_at__gte=since)
                .exclude(state="cancelled")
                .values_list("member_id")
                .annotate(n=Count("id"))
                .values_list("member_id", "n")
            )
            rows = []
            for member, language, body in chunk:
                if recent.get(member.member_id, 0) >= rules.cap_count:
                    continue
                size = parts.measure(body)
                rows.append(
                    Message(
                        key=f"{kind}:{name}:{member.member_id}",
                        kind=kind,
                        phone=str(member.phone),
                        member_id=member.member_id,
                        language=language,
                        body=body,
                        marketing=True,
                        consent_version=member.consent_version,
                        not_before=due,
                        expires_at=due + DEFAULT_LIFETIME,
                        parts=size.parts,
                        cost=parts.cost(
                            size, price_ucs2=rules.price_ucs2, price_gsm=rules.price_gsm
                        ),
                        created_at=moment,
                    )
                )
            Message.objects.bulk_create(rows, ignore_conflicts=True)
            added = Message.objects.filter(key__in=[r.key for r in rows], created_at=moment).count()
        chunk.clear()
        return added

    for member, allowed in _reachable(member_ids):
        if allowed:
            language, body = _text(kind, member, values, base, wordings)
            chunk.append((member, language, body))
        if len(chunk) >= _CHUNK:
            queued += flush()
    return queued + flush()
