"""Consent, quiet hours, the frequency cap and the daily budget: what marketing may do.

Transactional messages (codes, receipts) pass all of these: they answer the member's own
act. Marketing needs the member's consent, waits out quiet hours (held, not dropped), is
capped per member, and stops for the day when the chain's daily budget is spent.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection
from django.db.models import Sum

from hub.members.models import Member
from hub.messaging.models import Message, OptOut, Policy


def policy() -> Policy:
    """The chain's policy (its defaults until the owner changes one)."""
    # Made on first use in the chain's time zone (HUB_TIME_ZONE, the panel's).
    found, _ = Policy.objects.get_or_create(id=1, defaults={"time_zone": settings.PANEL_TIME_ZONE})
    return found


def in_quiet_hours(moment: datetime, rules: Policy) -> bool:
    """Whether `moment` falls in the quiet hours (start included, end not) in the chain's zone."""
    local = moment.astimezone(ZoneInfo(rules.time_zone)).time()
    start, end = _clock(rules.quiet_start), _clock(rules.quiet_end)
    if start == end:
        return False
    if start < end:
        return start <= local < end
    return local >= start or local < end


def after_quiet_hours(moment: datetime, rules: Policy) -> datetime:
    """`moment`, or the end of the quiet hours it falls in (held until then, not dropped)."""
    if not in_quiet_hours(moment, rules):
        return moment
    zone = ZoneInfo(rules.time_zone)
    local = moment.astimezone(zone)
    end = _clock(rules.quiet_end)
    day = local.date() if local.time() < end else local.date() + timedelta(days=1)
    return datetime.combine(day, end, tzinfo=zone)


def next_day(moment: datetime, rules: Policy) -> datetime:
    """The first moment marketing may go on the chain's next day (its quiet hours' end)."""
    zone = ZoneInfo(rules.time_zone)
    day = moment.astimezone(zone).date() + timedelta(days=1)
    return after_quiet_hours(datetime.combine(day, time(0), tzinfo=zone), rules)


def spent_today(moment: datetime, rules: Policy) -> int:
    """Rial spent on messages sent since the chain's midnight."""
    zone = ZoneInfo(rules.time_zone)
    midnight = datetime.combine(moment.astimezone(zone).date(), time(0), tzinfo=zone)
    total = Message.objects.filter(sent_at__gte=midnight).aggregate(total=Sum("cost"))["total"]
    return int(total or 0)


def marketing_refusal(
    phone: str, member_id: str | None, now: datetime, rules: Policy
) -> tuple[str, str | None]:
    """Why a marketing message may not be queued ("" if it may), and the consent version."""
    if member_id is None:
        return "marketing goes to members only", None
    member = Member.objects.filter(member_id=member_id).first()
    if member is None or member.status != "active" or member.phone != phone:
        return "not an active member with this phone", None
    if not member.consent_marketing:
        return "no consent to marketing", None
    if opted_out(phone, member.consent_at):
        return "opted out", None
    # Two campaigns queued at once for one member must not both pass the cap: one at a time.
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"hub_message:{member_id}"])
    recent = (
        Message.objects.filter(
            member_id=member_id,
            marketing=True,
            created_at__gte=now - timedelta(days=rules.cap_days),
        )
        .exclude(state="cancelled")
        .count()
    )
    if recent >= rules.cap_count:
        return f"frequency cap ({rules.cap_count} in {rules.cap_days} days)", None
    return "", member.consent_version


def opted_out(phone: str, consent_at: datetime | None) -> bool:
    """Whether the phone opted out after (or without) the member's last consent."""
    found = OptOut.objects.filter(phone=phone).first()
    return found is not None and (consent_at is None or found.at >= consent_at)


def _clock(value: time | str) -> time:
    # A model's default is a string until the row is read back from the database.
    return value if isinstance(value, time) else time.fromisoformat(value)
