"""The devices app."""

from __future__ import annotations

from django.apps import AppConfig


class DevicesConfig(AppConfig):
    """Branches, devices, enrollment codes, request nonces."""

    name = "hub.devices"
    label = "devices"
    default_auto_field = "django.db.models.BigAutoField"
