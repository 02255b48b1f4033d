"""The flags app."""

from __future__ import annotations

from django.apps import AppConfig


class FlagsConfig(AppConfig):
    """What the hub refused or found suspicious, kept for the owner."""

    name = "hub.flags"
    label = "flags"
    default_auto_field = "django.db.models.BigAutoField"
