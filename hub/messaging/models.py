"""The outbox of SMS, the chain's messaging policy, its templates and its opt-outs."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

STATES = (
    "queued",  # waiting for its time (not_before) and a worker
    "sending",  # claimed by a worker until lease_until
    "sent",  # the gateway took it (gateway_message_id)
    "delivered",  # the gateway reported it reached the phone
    "failed",  # the gateway refused it or reported it undelivered
    "expired",  # its deadline passed before it could be sent or delivered
    "cancelled",  # withdrawn before sending (no consent, opt-out, a cap)
)
FINAL_STATES = ("delivered", "failed", "expired", "cancelled")
RECEIPTS = ("opt_out", "opt_in", "off")


class Message(models.Model):
    """One SMS to one phone, sent at most once and never lost (docs/messaging.md)."""

    # The caller's idempotency key: the same key twice is one message.
    key = models.TextField(unique=True)
    kind = models.TextField()  # receipt, birthday, winback, campaign, verification, ...
    phone = models.TextField()  # E.164; never logged
    member_id = models.TextField(null=True)
    language = models.TextField(default="fa")
    body = models.TextField()
    marketing = models.BooleanField(default=False)
    # The consent text's version the member had agreed to when a marketing message was queued.
    consent_version = models.TextField(null=True)
    state = models.TextField(choices=[(s, s) for s in STATES], default="queued")
    attempts = models.IntegerField(default=0)
    not_before = models.DateTimeField(default=timezone.now)
    # After this the message is no use (a code, a birthday): expired rather than sent late.
    expires_at = models.DateTimeField()
    # A worker's claim: its token and until when; past it another worker may recover it.
    lease_until = models.DateTimeField(null=True)
    claim = models.UUIDField(null=True)
    # When a worker began handing it to a gateway that cannot dedupe (SMS.ir): a claim that
    # lapsed after this may have been sent, one that lapsed before it was surely not.
    handed_at = models.DateTimeField(null=True)
    # When its delivery was last asked of the gateway (polling, oldest first).
    checked_at = models.DateTimeField(null=True)
    parts = models.IntegerField()
    cost = models.BigIntegerField()  # Rial, at the policy's price when queued
    gateway = models.TextField(default="")
    gateway_message_id = models.TextField(null=True)
    error = models.TextField(default="")
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True)
    finished_at = models.DateTimeField(null=True)

    class Meta:
        db_table = "hub_message"
        indexes = (
            # The worker's claim: due messages in order, from a small partial index.
            models.Index(
                fields=("not_before",),
                name="hub_message_due",
                condition=models.Q(state="queued"),
            ),
            models.Index(
                fields=("lease_until",),
                name="hub_message_leased",
                condition=models.Q(state="sending"),
            ),
            # Delivery reports find their message by the gateway's id.
            models.Index(
                fields=("gateway", "gateway_message_id"),
                name="hub_message_gateway_id",
                condition=models.Q(gateway_message_id__isnull=False),
            ),
            # Delivery polling: sent messages, the longest unasked first.
            models.Index(
                fields=("checked_at",),
                name="hub_message_unreported",
                condition=models.Q(state="sent"),
            ),
            # Sent messages past their deadline with no report (the worker's upkeep).
            models.Index(
                fields=("expires_at",),
                name="hub_message_sent_deadline",
                condition=models.Q(state="sent"),
            ),
            # The frequency cap and opt-out: a member's marketing messages.
            models.Index(
                fields=("member_id", "created_at"),
                name="hub_message_member_marketing",
                condition=models.Q(marketing=True),
            ),
            # The daily budget: what was sent in a day.
            models.Index(fields=("sent_at",), name="hub_message_sent_at"),
            # Receipts' hourly cap per member (hub/messaging/receipts.py), at every push.
            models.Index(
                fields=("member_id", "created_at"),
                name="hub_message_member_receipts",
                condition=models.Q(kind__in=("receipt", "redeem")),
            ),
        )

    def __str__(self) -> str:
        return f"message {self.pk} ({self.kind}, {self.state})"


class Policy(models.Model):
    """The chain's messaging rules: one row (id 1), the defaults until the owner changes them."""

    id = models.IntegerField(primary_key=True, default=1)
    time_zone = models.TextField(default="Asia/Tehran")
    quiet_start = models.TimeField(default="22:00")  # no marketing from here ...
    quiet_end = models.TimeField(default="08:00")  # ... until here, in time_zone
    # At most `cap_count` marketing messages to a member in `cap_days` days.
    cap_count = models.IntegerField(default=2)
    cap_days = models.IntegerField(default=7)
    # Marketing stops for the day (held until the next) once this much was spent (Rial).
    daily_budget = models.BigIntegerField(default=5_000_000)
    # The price of a part (Rial), by alphabet: set to the gateway's contract.
    price_ucs2 = models.IntegerField(default=1_100)
    price_gsm = models.IntegerField(default=2_400)
    shop_name = models.TextField(default="")
    # Replies read from a gateway that is polled for them (SMS.ir): up to this time (Unix
    # seconds), so a reply is acted on once, not again at every poll.
    replies_read_until = models.BigIntegerField(default=0, db_default=0)
    # Receipts after an earn or a redemption: "opt_out" (sent unless the member said no),
    # "opt_in" (only to members who said yes), "off" (never).
    receipts = models.TextField(
        choices=[(c, c) for c in RECEIPTS], default="opt_out", db_default="opt_out"
    )
    # A win-back message to a member this many days after their last visit (0: none).
    winback_days = models.IntegerField(default=60, db_default=60)

    class Meta:
        db_table = "hub_message_policy"


class Template(models.Model):
    """The chain's own wording of a kind of message in a language (else the shipped default)."""

    kind = models.TextField()
    language = models.TextField()
    body = models.TextField()
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "hub_message_template"
        constraints = (
            models.UniqueConstraint(fields=("kind", "language"), name="hub_message_template_once"),
        )


class OptOut(models.Model):
    """A phone that asked for no more marketing (a reply keyword or the link), and when."""

    phone = models.TextField(primary_key=True)
    at = models.DateTimeField(default=timezone.now)
    via = models.TextField()  # "reply" or "link"

    class Meta:
        db_table = "hub_message_opt_out"


class Campaign(models.Model):
    """A campaign the owner sent from the panel: who, when, to which segment, how many.

    `name` is the form's one-time key: the messages' keys are `campaign:<name>:<member>`,
    so a form sent twice queues once (hub/messaging/campaigns.py).
    """

    name = models.TextField(unique=True)
    created_by = models.TextField()  # the panel user's name
    created_at = models.DateTimeField(default=timezone.now)
    not_before = models.DateTimeField()  # when it goes (now, or the time chosen)
    segment = models.JSONField()  # the filters (hub/messaging/segments.py), no personal data
    text_fa = models.TextField()
    text_en = models.TextField()
    reached = models.IntegerField()  # members with consent, at the preview
    refused = models.IntegerField()  # members without consent (or opted out)
    parts = models.IntegerField()
    cost = models.BigIntegerField()  # Rial, as previewed
    queued = models.IntegerField(null=True)  # messages queued (None: not yet)

    class Meta:
        db_table = "hub_message_campaign"


class ReceiptChoice(models.Model):
    """A member's own choice about receipts (yes or no), kept at the hub, and when."""

    member_id = models.TextField(primary_key=True)
    wanted = models.BooleanField()
    at = models.DateTimeField(default=timezone.now)
    via = models.TextField()  # "link", "cli"

    class Meta:
        db_table = "hub_message_receipt_choice"


class LastVisit(models.Model):
    """A member's last visit (an earn or a redemption, by its time at the kiosk), kept as
    pushes store them: the win-back planner finds the members whose last visit is N days
    old from its index instead of a max() over every entry."""

    member_id = models.TextField(primary_key=True)  # the survivor (merged ids count in it)
    at = models.DateTimeField()

    class Meta:
        db_table = "hub_message_last_visit"
        indexes = (models.Index(fields=("at",), name="hub_message_last_visit_at"),)
