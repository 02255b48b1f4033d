"""The hub's settings from its environment: the database, the data directory, the secret key.

Every setting has a default fit for a server with a local PostgreSQL; `make hub` sets them
for a development hub under ./var/hub. Nothing secret is in the repository: the secret key
is a file created (mode 0600) in the data directory by `hub migrate`.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

DEFAULT_DATABASE_URL = "postgresql:///loyalty_hub"
DEFAULT_DATA_DIR = "/var/lib/loyalty-hub"
DEFAULT_ALLOWED_HOSTS = "127.0.0.1,localhost,[::1]"
SECRET_KEY_FILENAME = "secret-key"


class EnvironmentProblem(ValueError):
    """A setting in the environment that cannot be used; the message says which and why."""


@dataclass(frozen=True)
class HubEnvironment:
    """What the environment says, checked."""

    database_url: str
    data_dir: Path
    debug: bool
    allowed_hosts: list[str]
    pool_max: int  # 0: no pool, a connection per use (the short commands)
    # The reverse proxies whose X-Forwarded-For is believed (enrollment's rate limit).
    trusted_proxies: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()

    @classmethod
    def read(cls, environ: Mapping[str, str] = os.environ) -> HubEnvironment:
        """From HUB_DATABASE_URL, HUB_DATA_DIR, HUB_DEBUG, HUB_ALLOWED_HOSTS, HUB_DB_POOL_MAX,
        HUB_TRUSTED_PROXIES."""
        url = environ.get("HUB_DATABASE_URL") or DEFAULT_DATABASE_URL
        database_settings(url, 1)  # refuses a URL that is not PostgreSQL's
        pool = environ.get("HUB_DB_POOL_MAX", "4")
        if not (pool.isascii() and pool.isdigit() and 0 <= int(pool) <= 100):
            raise EnvironmentProblem(
                f"HUB_DB_POOL_MAX must be a number from 0 to 100, not {pool!r}"
            )
        debug = environ.get("HUB_DEBUG", "")
        if debug not in ("", "0", "1"):
            raise EnvironmentProblem(f"HUB_DEBUG must be 1 or 0, not {debug!r}")
        hosts = environ.get("HUB_ALLOWED_HOSTS") or DEFAULT_ALLOWED_HOSTS
        return cls(
            database_url=url,
            data_dir=Path(environ.get("HUB_DATA_DIR") or DEFAULT_DATA_DIR),
            debug=debug == "1",
            allowed_hosts=[h.strip() for h in hosts.split(",") if h.strip()],
            pool_max=int(pool),
            trusted_proxies=trusted_proxies(environ.get("HUB_TRUSTED_PROXIES", "")),
        )

    @property
    def secret_key_file(self) -> Path:
        return self.data_dir / SECRET_KEY_FILENAME


def trusted_proxies(
    text: str,
) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    """HUB_TRUSTED_PROXIES: addresses or networks, comma-separated (`127.0.0.1,10.0.0.0/8`)."""
    networks = []
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise EnvironmentProblem(
                f"HUB_TRUSTED_PROXIES must be IP addresses or networks, not {item!r}"
            ) from None
    return tuple(networks)


def database_settings(url: str, pool_max: int) -> dict[str, Any]:
    """Django's DATABASES["default"] for a libpq-style URL, on psycopg 3 (pooled unless 0).

    `postgresql://user:password@host:5432/name?sslmode=require`; a Unix socket's folder
    goes in `host=` (`postgresql:///loyalty_hub?host=/run/postgresql&port=5432`). Other query
    parameters are handed to libpq as they are.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("postgresql", "postgres"):
        raise EnvironmentProblem(
            "HUB_DATABASE_URL must be a postgresql:// URL (the hub runs on PostgreSQL only)"
        )
    name = unquote(parts.path.lstrip("/"))
    if not name:
        raise EnvironmentProblem("HUB_DATABASE_URL names no database (postgresql:///NAME)")
    options: dict[str, Any] = dict(parse_qsl(parts.query))
    host = options.pop("host", None) or unquote(parts.hostname or "")
    try:
        port = options.pop("port", None) or parts.port
    except ValueError as exc:
        raise EnvironmentProblem(f"HUB_DATABASE_URL has a bad port: {exc}") from None
    if pool_max:
        # psycopg-pool per process (Django 5.1+): a gunicorn worker's threads share it.
        options["pool"] = {"min_size": 1, "max_size": pool_max, "timeout": 10}
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": name,
        "USER": unquote(parts.username or ""),
        "PASSWORD": unquote(parts.password or ""),
        "HOST": host,
        "PORT": str(port or ""),
        "CONN_MAX_AGE": 0,  # the pool keeps the connections; Django must not
        "OPTIONS": options,
    }


def read_secret_key(path: Path) -> str:
    """The secret key from its file, or "" when there is none yet (`hub migrate` makes it)."""
    try:
        return path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        return ""


def create_secret_key(path: Path) -> bool:
    """Create the secret key file (mode 0600) unless it exists; whether it was created."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return False
    with os.fdopen(descriptor, "w", encoding="ascii") as handle:
        handle.write(secrets.token_urlsafe(50) + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    return True
