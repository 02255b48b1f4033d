"""What the messaging tests share: Django in this process on a test hub's database, members.

(A module of fixtures with no tests of its own; named test_messaging_* as the messaging
tests' files are.)
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from hub.environment import database_settings
from sim.sms_gateway import SmsGateway
from tests.hub.conftest import Hub


def django_on(hub: Hub) -> None:
    """Django in this process, on `hub`'s database (set up once, then pointed anew)."""
    import django
    from django.apps import apps
    from django.db import connections

    url = hub.postgres.url(hub.database)
    if not apps.ready:
        os.environ["DJANGO_SETTINGS_MODULE"] = "hub.settings"
        os.environ["HUB_DATABASE_URL"] = url
        os.environ["HUB_DATA_DIR"] = str(hub.data_dir)
        os.environ["HUB_DB_POOL_MAX"] = "0"
        django.setup()
    connection = connections["default"]
    connection.close()
    connection.settings_dict.update(database_settings(url, 0))


@pytest.fixture
def messaging(hub: Hub) -> Hub:
    """A hub whose database this process's Django uses."""
    django_on(hub)
    return hub


def add_member(
    hub: Hub,
    member_id: str,
    phone: str,
    *,
    consent: bool = True,
    version: str = "v3",
    language: str = "fa",
    consent_at: datetime | None = None,
) -> None:
    """A member as a kiosk's push leaves one."""
    hub.sql(
        "INSERT INTO hub_member (member_id, status, created_at, updated_at, received_at, phone,"
        " language, consent_marketing, consent_version, consent_at)"
        " VALUES (%s, 'active', now(), now(), now(), %s, %s, %s, %s, %s)",
        member_id,
        phone,
        language,
        consent,
        version if consent else None,
        (consent_at or datetime(2026, 1, 1, tzinfo=UTC)) if consent else None,
    )


class Clock:
    """An injected clock the test moves."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        from datetime import timedelta

        self.now += timedelta(**delta)
        return self.now


@pytest.fixture
def sim_gateway() -> Iterator[SmsGateway]:
    """The simulated gateway on a free loopback port."""
    with SmsGateway() as gateway:
        yield gateway


def key_file(folder: Path, gateway: SmsGateway) -> str:
    """The simulator's API key in a file of mode 0600, as a hub keeps a real one."""
    path = folder / "sms.key"
    path.write_text(gateway.key + "\n", encoding="ascii")
    path.chmod(0o600)
    return str(path)
