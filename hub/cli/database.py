"""Closing the database, pool included, when a command ends or before gunicorn forks."""

from __future__ import annotations

from django.db import connections


def close_all() -> None:
    """Close every connection and pool this process opened.

    A pool's threads must not outlive the command, and nothing of the database may cross
    gunicorn's fork: each worker opens its own pool.
    """
    for connection in connections.all(initialized_only=True):
        connection.close()
        close_pool = getattr(connection, "close_pool", None)  # PostgreSQL's backend only
        if close_pool is not None:
            close_pool()
