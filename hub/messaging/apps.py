"""The messaging app."""

from __future__ import annotations

from django.apps import AppConfig


class MessagingConfig(AppConfig):
    """SMS to members: the outbox, the gateways, delivery reports, consent and limits."""

    name = "hub.messaging"
    label = "messaging"
    default_auto_field = "django.db.models.BigAutoField"
