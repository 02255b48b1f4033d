"""The error the hub's own commands raise for a person: one sentence of what to do."""

from __future__ import annotations


class HubError(Exception):
    """Bad input or a state that forbids the request; the message is for the person who asked."""
