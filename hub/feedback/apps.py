"""The feedback app."""

from __future__ import annotations

from django.apps import AppConfig


class FeedbackConfig(AppConfig):
    """Visit ratings: one per earn entry, with its reasons."""

    name = "hub.feedback"
    label = "feedback"
    default_auto_field = "django.db.models.BigAutoField"
