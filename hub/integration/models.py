"""Events (a transactional outbox), webhook endpoints, deliveries, API keys."""

from __future__ import annotations

from django.db import models
from django.utils import timezone


class Event(models.Model):
    """Something that happened to a member or the ledger, written in the transaction that
    made it happen (hub/integration/events.py), and never written twice for one cause.

    `position` is given at the writing transaction's commit, in commit order (a deferred
    trigger, migration 0002); the read API's cursor is a position, never an id
    (hub/integration/feed.py says why). `txid` names the writing transaction for it.
    """

    id = models.BigAutoField(primary_key=True)
    event_id = models.TextField(unique=True)  # "evt_" + a UUID derived from the cause
    type = models.TextField()
    member_id = models.TextField(null=True)
    payload = models.JSONField()
    created_at = models.DateTimeField(default=timezone.now)
    txid = models.BigIntegerField()
    # Personal data taken out after the member's erasure (hub/integration/events.py).
    scrubbed = models.BooleanField(default=False)
    position = models.BigIntegerField(null=True)

    class Meta:
        db_table = "hub_integration_event"
        indexes = (
            models.Index(fields=("txid", "id"), name="hub_int_event_cursor"),
            models.Index(fields=("position",), name="hub_int_event_position"),
            models.Index(fields=("member_id",), name="hub_int_event_member"),
        )


class Endpoint(models.Model):
    """A URL of the chain's CRM that receives events, signed with a secret of its own.

    The secret is kept sealed (AES-GCM under a key in the hub's data directory,
    hub/integration/sealing.py): a copy of the database alone cannot sign as the hub.
    """

    url = models.TextField()
    sealed_secret = models.BinaryField()
    events = models.JSONField()  # the event types it receives
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)
    # After a rotation the old secret signs too, until `previous_until` (a second `v1`),
    # so that the receiver can switch without refusing deliveries in flight.
    sealed_previous_secret = models.BinaryField(null=True)
    previous_until = models.DateTimeField(null=True)

    class Meta:
        db_table = "hub_integration_endpoint"


class Delivery(models.Model):
    """One event to one endpoint: pending until the endpoint answers 2xx, retried with
    backoff, `failed` after the retry window, `cancelled` when the member was erased first."""

    endpoint = models.ForeignKey(Endpoint, on_delete=models.CASCADE, related_name="+")
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="+")
    state = models.TextField(
        choices=(
            ("pending", "pending"),
            ("delivered", "delivered"),
            ("failed", "failed"),
            ("cancelled", "cancelled"),
        ),
        default="pending",
    )
    attempts = models.IntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    leased_until = models.DateTimeField(null=True)
    last_status = models.IntegerField(null=True)  # the HTTP status, null for no answer
    last_error = models.TextField(null=True)
    created_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True)

    class Meta:
        db_table = "hub_integration_delivery"
        constraints = (
            models.UniqueConstraint(fields=("endpoint", "event"), name="hub_int_delivery_once"),
        )
        indexes = (
            # The worker's claim: the pending ones, soonest first.
            models.Index(
                fields=("next_attempt_at",),
                name="hub_int_delivery_due",
                condition=models.Q(state="pending"),
            ),
            models.Index(fields=("event",), name="hub_int_delivery_event"),
        )


class ApiKey(models.Model):
    """A key of the read API: its public prefix, the SHA-256 of its secret part, its scopes,
    and its rate limit's bucket (tokens refilled at `per_minute`)."""

    name = models.TextField(unique=True)
    prefix = models.TextField(unique=True)
    digest = models.TextField()
    scopes = models.JSONField()
    per_minute = models.IntegerField(default=600)
    tokens = models.FloatField()
    tokens_at = models.DateTimeField(default=timezone.now)
    created_at = models.DateTimeField(default=timezone.now)
    revoked_at = models.DateTimeField(null=True)
    last_used_at = models.DateTimeField(null=True)

    class Meta:
        db_table = "hub_integration_api_key"
