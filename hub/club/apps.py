"""The club's phone page as a Django app (its models: codes and sessions of its own)."""

from __future__ import annotations

from django.apps import AppConfig


class ClubConfig(AppConfig):
    name = "hub.club"
    label = "club"
    default_auto_field = "django.db.models.BigAutoField"
