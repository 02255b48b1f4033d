"""The `hub` command: serve the protocol, migrate, and manage branches and devices.

Every command reads its settings from the environment (docs/hub.md, "Settings"). Bad input
is one line on stderr and a non-zero exit, with nothing written.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

EXIT_BAD_INPUT = 1


def main(argv: Sequence[str] | None = None) -> int:
    """Run one `hub` command; its exit status."""
    args = list(sys.argv[1:] if argv is None else argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hub.settings")
    if args[:1] != ["serve"]:
        # A short command needs one connection, at once, and libpq's own error if it
        # fails; a pool would wait out its timeout and say only that it timed out.
        os.environ["HUB_DB_POOL_MAX"] = "0"
    try:
        import django
        from django.core.exceptions import ImproperlyConfigured

        try:
            django.setup()
        except ImproperlyConfigured as exc:
            return _fail(str(exc))
        from hub.cli import commands

        parser = commands.build_parser()
        return commands.run(parser.parse_args(args))
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away (`hub export | head`): no traceback, and none at exit either
        # (Python flushes stdout again then).
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_BAD_INPUT


def _fail(message: str) -> int:
    print(f"hub: {message}", file=sys.stderr)
    return EXIT_BAD_INPUT
