"""The panel app."""

from __future__ import annotations

from django.apps import AppConfig


class PanelConfig(AppConfig):
    """The owner's panel: pages on the hub for the people who run the club."""

    name = "hub.panel"
    label = "panel"
    default_auto_field = "django.db.models.BigAutoField"
