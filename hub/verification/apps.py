"""The verification app."""

from __future__ import annotations

from django.apps import AppConfig


class VerificationConfig(AppConfig):
    """Codes sent to a phone before a kiosk enrolls it or links a card to it."""

    name = "hub.verification"
    label = "verification"
    default_auto_field = "django.db.models.BigAutoField"
