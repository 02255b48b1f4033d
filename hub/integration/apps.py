"""The integration app."""

from __future__ import annotations

from django.apps import AppConfig


class IntegrationConfig(AppConfig):
    """Events, webhook endpoints and their deliveries, API keys."""

    name = "hub.integration"
    label = "integration"
    default_auto_field = "django.db.models.BigAutoField"
