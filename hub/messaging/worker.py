"""The worker: claim a batch, hand each message to the gateway, record what happened.

One worker or several (on one hub or many): the claim (hub/messaging/queue.py) keeps them
apart. Retries back off exponentially with full jitter, capped, and honour the gateway's
Retry-After; a gateway that fails stops the batch (the rest go back untouched), so a
gateway that is down sees one request a round, not a batch of them. Time comes from the
injected `clock`, so tests move it instead of waiting.
"""

from __future__ import annotations

import contextlib
import logging
import random
import threading
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from hub.members.models import Member
from hub.messaging import limits, planner, queue
from hub.messaging.gateways import Gateway, Outgoing, Refused, TryLater, Unknown
from hub.messaging.models import Message, Policy
from hub.messaging.reports import apply_report, is_stop_word, opt_out

log = logging.getLogger("hub.messaging")

BACKOFF_BASE = 30.0  # seconds, doubled each attempt ...
BACKOFF_CAP = 15 * 60.0  # ... up to this
POLL_AFTER = timedelta(minutes=1)  # a sent message's delivery is asked after this ...
POLL_EVERY = timedelta(minutes=10)  # ... and again this often until it is known
PLAN_EVERY = timedelta(hours=1)  # the planner at least this often (and when the day changes)
UPKEEP_EVERY = timedelta(seconds=30)  # deadlines of sent messages, and polling, this often
UNKNOWN = (
    "outcome unknown: the gateway may have sent it when the worker stopped, and it cannot "
    "be asked; not sent again"
)


class Worker:
    """Sends the outbox through one gateway."""

    def __init__(
        self,
        gateway: Gateway,
        *,
        clock: Callable[[], datetime] = timezone.now,
        batch: int = 50,
        lease: timedelta = queue.LEASE,
        rng: random.Random | None = None,
        plan: bool = False,
    ) -> None:
        self.gateway = gateway
        self.clock = clock
        self.batch = batch
        self.lease = lease
        self.rng = rng or random.Random()
        # The batch's sends, recorded together at its end (a gateway that dedupes).
        self._accepted: list[tuple[queue.Claimed, str, datetime]] = []
        self._next_upkeep = datetime.min.replace(tzinfo=UTC)
        # The planner (birthdays, win-back): when the chain's day changes, and hourly.
        self.plan = plan
        self._planned_at = datetime.min.replace(tzinfo=UTC)
        self._planned_day: date | None = None

    def run_once(self) -> int:
        """One batch: claimed, sent, recorded; then delivery asked of the gateway. How many
        messages were handled."""
        claimed = self._without_erased(
            queue.claim(now=self.clock(), limit=self.batch, lease=self.lease)
        )
        # A gateway that dedupes our local id: the batch's outcomes commit together at its
        # end (one commit, not one a message). A crash before it leaves the batch `sending`,
        # recovered by asking the gateway, which has what it took. One that cannot dedupe
        # (SMS.ir) commits each hand-over before it happens, so each outcome on its own.
        with transaction.atomic() if self.gateway.dedupes else contextlib.nullcontext():
            for index, item in enumerate(claimed):
                stop = self._one(item)
                if stop is not None:
                    for rest in claimed[index + 1 :]:
                        queue.retry(rest, stop, "held: the gateway asked to wait", count=False)
                    break
            queue.sent_many(self._accepted, self.gateway.name)
            self._accepted.clear()
        now = self.clock()
        if now >= self._next_upkeep:
            # Deadlines and polling read many sent rows: every half minute, not every batch.
            self._next_upkeep = now + UPKEEP_EVERY
            self.expire_unreported()
            self.poll_reports()
            self.read_replies()
        if self.plan:
            self.plan_if_due(now)
        return len(claimed)

    def plan_if_due(self, now: datetime) -> planner.Planned | None:
        """Run the planner if the chain's day changed or an hour passed since it last ran
        (it is idempotent: a run too many queues nothing); what it queued, or None."""
        day = planner.chain_day(now)
        if day == self._planned_day and now < self._planned_at + PLAN_EVERY:
            return None
        try:
            planned = planner.plan(now)
        except Exception as exc:  # sending goes on; the next round tries again
            log.error("messaging: the planner failed (%s)", type(exc).__name__)
            return None
        self._planned_day, self._planned_at = day, now
        if planned.birthdays or planned.winbacks:
            log.info(
                "messaging: planned %d birthday and %d win-back messages",
                planned.birthdays,
                planned.winbacks,
            )
        return planned

    def run(self, stop: threading.Event, idle: float = 2.0) -> None:
        """Until `stop` is set (SIGTERM): the batch in hand is always finished."""
        while not stop.is_set():
            try:
                handled = self.run_once()
            except Exception as exc:
                # The database away for a moment: the claims lapse and are recovered. The
                # kind of error only: a database error's text may quote a row (a phone).
                log.error("messaging: a round failed (%s); trying again", type(exc).__name__)
                handled = 0
            if handled == 0:
                stop.wait(idle)

    def _without_erased(self, claimed: list[queue.Claimed]) -> list[queue.Claimed]:
        """The claimed messages less those of members erased since they were queued (a
        receipt waiting out its two minutes): those are cancelled, never sent."""
        ids = {c.message.member_id for c in claimed if c.message.member_id and not c.recovering}
        if not ids:
            return claimed
        gone = set(
            Member.objects.filter(member_id__in=ids)
            .exclude(status="active")
            .values_list("member_id", flat=True)
        )
        if not gone:
            return claimed
        now = self.clock()
        kept = []
        for item in claimed:
            if item.message.member_id in gone and not item.recovering:
                queue.finished(item, "cancelled", "the member was erased", now)
            else:
                kept.append(item)
        return kept

    def _one(self, item: queue.Claimed) -> datetime | None:
        """Handle one claimed message; a time to hold the rest of the batch until, or None."""
        message = item.message
        outgoing = Outgoing(str(message.pk), message.phone, message.body)
        now = self.clock()
        try:
            if item.recovering:
                found = self._recover(item, outgoing, now)
                if found:
                    return None
            if message.expires_at <= now:
                queue.finished(item, "expired", "its deadline passed before it was sent", now)
                return None
            if not self.gateway.dedupes:
                queue.handing(item, now)
            accepted = self.gateway.send(outgoing)
        except TryLater as exc:
            if exc.ambiguous and not self.gateway.dedupes:
                queue.finished(item, "failed", UNKNOWN, now)
                log.warning("messaging: message %s %s", message.pk, UNKNOWN)
                return None
            when = self._later(message.attempts, exc.after, now)
            if when >= message.expires_at:
                queue.finished(item, "expired", f"not sent before its deadline ({exc})", now)
            else:
                queue.retry(item, when, str(exc))
            return when
        except Refused as exc:
            queue.finished(item, "failed", str(exc), now)
            return None
        self._sent(item, accepted.gateway_message_id, self.clock())
        return None

    def _sent(self, item: queue.Claimed, gateway_message_id: str, now: datetime) -> None:
        if self.gateway.dedupes:
            self._accepted.append((item, gateway_message_id, now))
        else:
            queue.sent(item, self.gateway.name, gateway_message_id, now)

    def _recover(self, item: queue.Claimed, outgoing: Outgoing, now: datetime) -> bool:
        """A lapsed claim: whether it is settled (found at the gateway, or unknowable)."""
        try:
            found = self.gateway.find(outgoing)
        except Unknown:
            if item.message.handed_at is None:
                return False  # never handed over: safe to send
            queue.finished(item, "failed", UNKNOWN, now)
            log.warning("messaging: message %s %s", item.message.pk, UNKNOWN)
            return True
        if found is None:
            return False
        self._sent(item, found.gateway_message_id, now)
        return True

    def _later(self, attempts: int, after: float | None, now: datetime) -> datetime:
        ceiling = min(BACKOFF_CAP, BACKOFF_BASE * 2 ** max(attempts - 1, 0))
        seconds = self.rng.uniform(ceiling / 2, ceiling)  # "equal jitter": never at once
        if after is not None:
            seconds = max(seconds, after)
        return now + timedelta(seconds=seconds)

    def expire_unreported(self) -> int:
        """Sent messages with no delivery report by their deadline end `expired`."""
        now = self.clock()
        return Message.objects.filter(state="sent", expires_at__lt=now).update(
            state="expired", finished_at=now, error="no delivery report before its deadline"
        )

    def poll_reports(self, limit: int = 500) -> int:
        """Ask the gateway about sent messages (a callback may never come); how many changed."""
        now = self.clock()
        due = list(
            Message.objects.filter(
                Q(checked_at__isnull=True) | Q(checked_at__lt=now - POLL_EVERY),
                state="sent",
                gateway=self.gateway.name,
                sent_at__lte=now - POLL_AFTER,
            )
            .order_by(F("checked_at").asc(nulls_first=True))
            .values_list("pk", "gateway_message_id")[:limit]
        )
        if not due:
            return 0
        try:
            reports = self.gateway.status([gid for _, gid in due if gid])
        except (TryLater, Refused) as exc:
            log.info("messaging: delivery polling failed: %s", exc)
            return 0
        Message.objects.filter(pk__in=[pk for pk, _ in due]).update(checked_at=now)
        changed = 0
        for report in reports:
            if report.outcome != "pending":
                changed += apply_report(
                    self.gateway.name, report.gateway_message_id, report.outcome, now
                )
        return changed

    def read_replies(self) -> int:
        """Act on stop words among the replies a polled gateway received; how many opted out."""
        rules = limits.policy()
        try:
            replies = self.gateway.replies(rules.replies_read_until)
        except (TryLater, Refused) as exc:
            log.info("messaging: reading replies failed: %s", exc)
            return 0
        opted = 0
        for reply in replies:
            if is_stop_word(reply.text):
                opt_out(reply.phone, "reply", datetime.fromtimestamp(reply.at, tz=UTC))
                opted += 1
        if replies:
            Policy.objects.filter(id=1).update(replies_read_until=max(r.at for r in replies))
        return opted
