"""The ledger app."""

from __future__ import annotations

from django.apps import AppConfig


class LedgerConfig(AppConfig):
    """Entries, balances, high-water marks."""

    name = "hub.ledger"
    label = "ledger"
    default_auto_field = "django.db.models.BigAutoField"
