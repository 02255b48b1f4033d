"""The `kiosk` command line, for technicians and scripts.

Every command takes `--data-dir` and `--json`. Bad input exits non-zero with one clear
line on stderr and writes nothing.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from kiosk.cli import admin, appliance, doctor, hardware, key, members, points, sync
from kiosk.cli.common import EXIT_STORAGE, EXIT_USAGE, Context, fail
from kiosk.config import ConfigError
from kiosk.errors import KioskError, StorageUnavailable

DESCRIPTION = "Loyalty kiosk: members, points ledger and diagnostics."


def build_parser() -> argparse.ArgumentParser:
    """The whole command tree."""
    parser = argparse.ArgumentParser(prog="kiosk", description=DESCRIPTION)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    members.register(commands)
    points.register(commands)
    admin.register(commands)
    hardware.register(commands)
    sync.register(commands)
    doctor.register(commands)
    appliance.register(commands)
    key.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    ctx = Context.from_args(args)
    bad = [a for a in (argv if argv is not None else sys.argv[1:]) if not _utf8(a)]
    if bad:
        return fail(ctx, "arguments", "an argument is not valid text (UTF-8)", EXIT_USAGE)
    try:
        status: int = args.handler(ctx, args)
    except ConfigError as exc:
        return fail(ctx, "config", f"the configuration has problems:\n{exc}", EXIT_USAGE)
    except StorageUnavailable as exc:
        return fail(ctx, exc.key, str(exc), EXIT_STORAGE)
    except KioskError as exc:
        return fail(ctx, exc.key, str(exc))
    except KeyboardInterrupt:
        return fail(ctx, "interrupted", "interrupted; nothing more was written", 130)
    except OverflowError:
        return fail(ctx, "number", "a number is too large; nothing was written", EXIT_USAGE)
    except OSError as exc:  # --output to a folder, a missing folder, a full disk
        where = f" {exc.filename}" if exc.filename else ""
        return fail(ctx, "file", f"cannot use{where}: {exc.strerror or exc}")
    finally:
        ctx.close()
    return status


def _utf8(text: str) -> bool:
    # Undecodable bytes in argv arrive as lone surrogates, which SQLite cannot store.
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


if __name__ == "__main__":
    sys.exit(main())
