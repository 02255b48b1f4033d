"""The hub's settings from its environment (no database needed)."""

from __future__ import annotations

import pytest

from hub.environment import EnvironmentProblem, HubEnvironment, database_settings


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgresql:///loyalty_hub", {"NAME": "loyalty_hub", "HOST": "", "PORT": "", "USER": ""}),
        (
            "postgresql://hub:s%40cret@db.example:6432/club?sslmode=require",
            {
                "NAME": "club",
                "HOST": "db.example",
                "PORT": "6432",
                "USER": "hub",
                "PASSWORD": "s@cret",
            },
        ),
        (
            "postgres:///club?host=/run/postgresql&port=5433",
            {"NAME": "club", "HOST": "/run/postgresql", "PORT": "5433"},
        ),
    ],
)
def test_a_database_url_becomes_djangos_settings(url: str, expected: dict[str, str]):
    settings = database_settings(url, 4)

    assert {k: settings[k] for k in expected} == expected
    assert settings["ENGINE"] == "django.db.backends.postgresql"
    assert settings["OPTIONS"]["pool"]["max_size"] == 4
    assert "host" not in settings["OPTIONS"] and "port" not in settings["OPTIONS"]


def test_libpq_options_pass_through_and_no_pool_is_asked_with_zero():
    settings = database_settings("postgresql:///club?sslmode=require&connect_timeout=5", 0)

    assert settings["OPTIONS"] == {"sslmode": "require", "connect_timeout": "5"}


@pytest.mark.parametrize(
    ("environ", "says"),
    [
        ({"HUB_DATABASE_URL": "sqlite:///hub.db"}, "PostgreSQL only"),
        ({"HUB_DATABASE_URL": "postgresql://host/"}, "names no database"),
        ({"HUB_DATABASE_URL": "postgresql://host:port/club"}, "bad port"),
        ({"HUB_DB_POOL_MAX": "many"}, "HUB_DB_POOL_MAX"),
        ({"HUB_DEBUG": "yes"}, "HUB_DEBUG"),
        ({"HUB_TRUSTED_PROXIES": "127.0.0.1,proxy.example"}, "HUB_TRUSTED_PROXIES"),
    ],
)
def test_a_bad_setting_is_named(environ: dict[str, str], says: str):
    with pytest.raises(EnvironmentProblem, match=says):
        HubEnvironment.read(environ)


def test_the_defaults_are_a_local_server_with_debug_off():
    hub = HubEnvironment.read({})

    assert hub.database_url == "postgresql:///loyalty_hub"
    assert str(hub.secret_key_file) == "/var/lib/loyalty-hub/secret-key"
    assert hub.debug is False
    assert hub.allowed_hosts == ["127.0.0.1", "localhost", "[::1]"]
    assert hub.trusted_proxies == ()  # X-Forwarded-For believed from no one
