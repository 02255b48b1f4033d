"""Delivery reports and replies: a report moves a message on once; a stop word opts out."""

from __future__ import annotations

import unicodedata
from datetime import datetime

from django.db import transaction

from hub.feed import feed
from hub.integration import events
from hub.members.models import Member
from hub.members.records import record_of
from hub.messaging.models import Message, OptOut

# Replies that opt a phone out of marketing: Persian «لغو» (cancel), 11 (the number
# Iranian operators' and gateways' marketing lines take for it), STOP; digits in Persian
# or Arabic-Indic forms are read as digits.
STOP_WORDS = frozenset({"لغو", "11", "stop", "لغو11", "لغو 11", "unsubscribe"})


def apply_report(gateway: str, gateway_message_id: str, outcome: str, now: datetime) -> int:
    """`delivered` or `failed` for a sent message; 0 if it was applied before (a report
    sent twice) or names no message of ours."""
    if outcome not in ("delivered", "failed"):
        return 0
    return Message.objects.filter(
        gateway=gateway,
        gateway_message_id=gateway_message_id,
        # A late report still tells the truth about a message expired for want of one.
        state__in=("sent", "expired") if outcome == "delivered" else ("sent",),
    ).update(state=outcome, finished_at=now, error="" if outcome == "delivered" else "undelivered")


def is_stop_word(text: str) -> bool:
    """Whether a reply asks for no more marketing."""
    folded = "".join(
        str(unicodedata.digit(c)) if c.isdigit() else c for c in unicodedata.normalize("NFKC", text)
    )
    folded = " ".join(folded.replace("ي", "ی").split()).casefold()
    return folded in STOP_WORDS


def opt_out(phone: str, via: str, now: datetime) -> int:
    """The phone wants no more marketing (as of `now`): consent off at once, queued
    marketing cancelled; nothing if the member consented again after `now`.

    Returns how many queued messages were cancelled.
    """
    with transaction.atomic():
        # A reply read late must not undo a consent given after it.
        if Member.objects.filter(phone=phone, consent_at__gt=now).exists():
            return 0
        OptOut.objects.update_or_create(phone=phone, defaults={"at": now, "via": via})
        withdrawn = list(
            Member.objects.filter(phone=phone, consent_marketing=True).values_list("pk", flat=True)
        )
        Member.objects.filter(pk__in=withdrawn).update(
            consent_marketing=False, consent_at=now, updated_at=now
        )
        _tell_kiosks_and_crm(withdrawn)
        return Message.objects.filter(phone=phone, marketing=True, state="queued").update(
            state="cancelled", finished_at=now, error=f"opted out ({via})"
        )


def _tell_kiosks_and_crm(member_ids: list[str]) -> None:
    """The members' records as now held, to the kiosks (a `member` change in the feed: a
    kiosk stops offering marketing at once) and to the CRM (`member.updated`)."""
    for member in Member.objects.filter(pk__in=member_ids, merged_into__isnull=True):
        record = record_of(member, member.cards.order_by("uid"))
        feed.append([("member", record)])
        events.emit(events.MemberWritten(record, None, member))
