"""What every `kiosk` command shares: options, the opened service, output and errors."""

from __future__ import annotations

import argparse
import dataclasses
import getpass
import json
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kiosk.bootstrap import Appliance
from kiosk.config import KioskConfig
from kiosk.core.cards import normalize_uid
from kiosk.core.service import LoyaltyService
from kiosk.core.store.members import Member
from kiosk.errors import InvalidInput, KioskError
from kiosk.text.phone import normalize_phone

EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_STORAGE = 3


def common_options() -> argparse.ArgumentParser:
    """A parent parser with the options every command takes."""
    parent = argparse.ArgumentParser(add_help=False)
    group = parent.add_argument_group("common options")
    group.add_argument("--data-dir", metavar="DIR", help="data directory (env KIOSK_DATA_DIR)")
    group.add_argument("--config", metavar="FILE", help="config file (env KIOSK_CONFIG)")
    group.add_argument(
        "-o",
        "--option",
        action="append",
        default=[],
        metavar="SECTION.KEY=VALUE",
        help="override one config value (repeatable)",
    )
    group.add_argument("--sim", action="store_true", help="simulator mode: data under ./var")
    group.add_argument("--json", action="store_true", help="print JSON instead of text")
    return parent


def add_member_selector(parser: argparse.ArgumentParser, *, required: bool = True) -> None:
    """`--phone P | --card UID | --id MEMBER_ID`."""
    group = parser.add_mutually_exclusive_group(required=required)
    group.add_argument("--phone", help="the member's mobile number")
    group.add_argument("--card", metavar="UID", help="one of the member's card ids")
    group.add_argument("--id", dest="member_id", metavar="MEMBER_ID", help="the member id")


@dataclass
class Context:
    """One command's view of the world: parsed options and the appliance they describe.

    Every object a command uses (the service, readers, the CRM client, the sync worker)
    comes from the appliance (kiosk/bootstrap.py), built lazily from the options.
    """

    json: bool
    args: argparse.Namespace
    _appliance: Appliance | None = None
    _service: LoyaltyService | None = None

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> Context:
        """Build the context of a parsed command line."""
        return cls(json=bool(getattr(args, "json", False)), args=args)

    @property
    def appliance(self) -> Appliance:
        """The appliance of the effective configuration (defaults, file, overrides)."""
        if self._appliance is None:
            self._appliance = Appliance.load(
                getattr(self.args, "config", None),
                list(getattr(self.args, "option", [])),
                data_dir=getattr(self.args, "data_dir", None),
                simulated=bool(getattr(self.args, "sim", False)),
            )
        return self._appliance

    @property
    def config(self) -> KioskConfig:
        """The effective configuration (defaults, file, overrides)."""
        return self.appliance.config

    @property
    def data_dir(self) -> Path:
        """The data directory this command works on."""
        return self.appliance.data_dir

    def service(self, *, create: bool = True) -> LoyaltyService:
        """The service on the data directory; refuses to create a database unless `create`."""
        if self._service is None:
            self._service = self.appliance.open_service(create=create)
        return self._service

    def reload(self) -> None:
        """Read the configuration again (it may have been provisioned meanwhile)."""
        self._appliance = None

    def close(self) -> None:
        """Close what the command opened."""
        if self._service is not None:
            self._service.close()
        if self._appliance is not None:
            self._appliance.forget_client()

    def find_member(self, args: argparse.Namespace, *, create: bool = False) -> Member:
        """The member named by --phone, --card or --id (input checked before opening)."""
        phone = card = None
        if args.phone is not None:
            phone = normalize_phone(args.phone, self.config.shop.phone_region)
        if args.card is not None:
            card = normalize_uid(args.card)
        service = self.service(create=create)
        if phone is not None:
            return service.identify_phone(phone)
        if card is not None:
            return service.identify_card(card)
        return service.member(args.member_id)


def emit(ctx: Context, data: Any, text: str | None = None) -> None:
    """Print a result: JSON with --json, else the text (or `key: value` lines)."""
    if dataclasses.is_dataclass(data) and not isinstance(data, type):
        data = dataclasses.asdict(data)
    if ctx.json:
        print(json.dumps(data, ensure_ascii=False, default=str))
        return
    if text is not None:
        print(text)
    elif isinstance(data, dict):
        for key, value in data.items():
            print(f"{key}: {value}")
    else:
        print(data)


def fail(ctx: Context, key: str, message: str, status: int = EXIT_FAILED) -> int:
    """Report an error as one line on stderr (JSON with --json) and return the exit status."""
    if ctx.json:
        print(json.dumps({"error": key, "message": message}, ensure_ascii=False), file=sys.stderr)
    else:
        print(f"kiosk: {message}", file=sys.stderr)
    return status


def new_txn_id(given: str | None) -> str:
    """The client transaction id given with --txn, or a fresh one."""
    return given or f"cli-{uuid.uuid4()}"


def read_pin(prompt: str, *, confirm: bool = False) -> str:
    """Read a PIN at a prompt (hidden on a terminal; one line of stdin otherwise)."""

    def ask(text: str) -> str:
        if sys.stdin.isatty():
            return getpass.getpass(text)
        line = sys.stdin.readline()
        if not line:
            raise InvalidInput("No PIN was given on standard input.")
        return line.strip()

    pin = ask(prompt)
    if confirm and ask("Again: ") != pin:
        raise InvalidInput("The two PINs differ; nothing was changed.")
    return pin


def error_text(exc: KioskError) -> str:
    """The English text of an error, for the CLI."""
    return str(exc)
