"""The program app."""

from __future__ import annotations

from django.apps import AppConfig


class ProgramConfig(AppConfig):
    """The owner's key, the program's versions and the staff published to every kiosk."""

    name = "hub.program"
    label = "program"
    default_auto_field = "django.db.models.BigAutoField"
