"""The members app."""

from __future__ import annotations

from django.apps import AppConfig


class MembersConfig(AppConfig):
    """Members and cards."""

    name = "hub.members"
    label = "members"
    default_auto_field = "django.db.models.BigAutoField"
