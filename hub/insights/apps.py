"""The insights app: the tables the panel's figures are read from (hub/insights/rollup.py)."""

from __future__ import annotations

from django.apps import AppConfig


class InsightsConfig(AppConfig):
    """The figures' rollups: each closed day per branch, the points owed, nightly reports."""

    name = "hub.insights"
    label = "insights"
    default_auto_field = "django.db.models.BigAutoField"
