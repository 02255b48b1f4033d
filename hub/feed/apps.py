"""The feed app."""

from __future__ import annotations

from django.apps import AppConfig


class FeedConfig(AppConfig):
    """The change feed."""

    name = "hub.feed"
    label = "feed"
    default_auto_field = "django.db.models.BigAutoField"
