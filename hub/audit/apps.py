"""The audit app."""

from __future__ import annotations

from django.apps import AppConfig


class AuditConfig(AppConfig):
    """Who did what in the panel, and who saw whose personal data."""

    name = "hub.audit"
    label = "audit"
    default_auto_field = "django.db.models.BigAutoField"
