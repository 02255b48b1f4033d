"""The `hub` command's parser and its dispatch, with errors turned into one line for people."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import NoReturn

from django.db import DatabaseError, OperationalError

import hub.cli.messages
from hub.cli import (
    chain,
    database,
    feed,
    flags,
    insights,
    integration,
    members,
    program,
    serve,
    users,
)
from hub.errors import HubError

Handler = Callable[[argparse.Namespace], int]


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line too (its subcommands are made of this class)."""

    def error(self, message: str) -> NoReturn:
        self.exit(1, f"hub: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    """Every `hub` command."""
    parser = _Parser(
        prog="hub",
        description="The customer club's central server (docs/hub.md).",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    serve.register(commands)
    chain.register(commands)
    flags.register(commands)
    program.register(commands)
    users.register(commands)
    members.register(commands)
    hub.cli.messages.register(commands)
    integration.register(commands)
    insights.register(commands)
    feed.register(commands)
    return parser


def run(args: argparse.Namespace) -> int:
    """Run the parsed command: 0, or 1 with one line on stderr."""
    handler: Handler = args.handler
    try:
        return handler(args)
    except HubError as exc:
        return _fail(str(exc))
    except OperationalError as exc:
        return _fail(f"cannot reach the database: {_first_line(exc)} (check HUB_DATABASE_URL)")
    except DatabaseError as exc:
        return _fail(f"the database refused: {_first_line(exc)}")
    finally:
        database.close_all()


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _fail(message: str) -> int:
    print(f"hub: {message}", file=sys.stderr)
    return 1
