"""`hub serve` (gunicorn) and `hub migrate` (the schema, and the secret key on first set-up)."""

from __future__ import annotations

import argparse
import io
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from hub.cli import database
from hub.environment import create_secret_key
from hub.errors import HubError
from hub.program import setup

DEFAULT_BIND = "127.0.0.1:8470"


def register(commands: Any) -> None:
    """Add `serve` and `migrate`."""
    serve = commands.add_parser("serve", help="serve the sync protocol (gunicorn)")
    serve.add_argument(
        "--bind",
        default=DEFAULT_BIND,
        help=f"HOST:PORT to listen on (default {DEFAULT_BIND}; put TLS in front, docs/hub.md)",
    )
    serve.add_argument("--workers", type=_workers, default=2, help="worker processes (default 2)")
    serve.add_argument("--threads", type=_workers, default=4, help="threads per worker (default 4)")
    serve.set_defaults(handler=run_serve)
    migrate = commands.add_parser(
        "migrate", help="create or update the database schema (the keys and program 1, once)"
    )
    migrate.set_defaults(handler=run_migrate)


def _workers(text: str) -> int:
    if not (text.isascii() and text.isdigit() and 1 <= int(text) <= 64):
        raise argparse.ArgumentTypeError(f"a number from 1 to 64, not {text!r}")
    return int(text)


def run_migrate(args: argparse.Namespace) -> int:
    """Apply the migrations; create the secret key file (0600) if there is none."""
    key_file = settings.HUB.secret_key_file
    try:
        created = create_secret_key(key_file)
    except OSError as exc:
        raise HubError(f"cannot write the secret key {key_file}: {exc.strerror}") from None
    if created:
        print(f"secret key created: {key_file} (mode 0600; keep it with the backups)")
    out = io.StringIO()
    call_command("migrate", interactive=False, verbosity=1, stdout=out)
    applied = [
        line.strip() for line in out.getvalue().splitlines() if line.strip().startswith("Applying")
    ]
    print(
        f"database migrated ({len(applied)} migrations applied)"
        if applied
        else "database up to date"
    )
    for line in setup.first_setup():
        print(line)
    return 0


def run_serve(args: argparse.Namespace) -> int:
    """Check the set-up, then serve with gunicorn until stopped (SIGTERM or Ctrl-C)."""
    if not settings.SECRET_KEY:
        raise HubError(f"no secret key at {settings.HUB.secret_key_file}: run hub migrate first")
    executor = MigrationExecutor(connection)
    pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
    if pending:
        raise HubError(f"the database lacks {len(pending)} migrations: run hub migrate first")
    database.close_all()
    from hub.cli.gunicorn import HubServer

    HubServer(
        {
            "bind": [args.bind],
            "workers": args.workers,
            "threads": args.threads,
            "worker_class": "gthread",
            "proc_name": "loyalty-hub",
            "errorlog": "-",
            "timeout": 60,
            "graceful_timeout": 20,
            # gunicorn 27 opens a control socket in ~/.gunicorn by default: one per host
            # user, shared by every hub it runs. Not needed: systemd stops and reloads it.
            "control_socket_disable": True,
        }
    ).run()
    return 0
