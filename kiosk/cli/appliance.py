"""`kiosk provision`, `kiosk deprovision`, `kiosk backup`, `kiosk restore`: setting up and
keeping a device."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from kiosk.cli.common import Context, common_options, emit, read_pin
from kiosk.core.store.staff import CLI
from kiosk.errors import InvalidInput, KioskError

if TYPE_CHECKING:
    from kiosk.appliance.restore import RestorePlan

CLI_TECHNICIAN = "Technician"


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the provision, deprovision, backup and restore commands."""
    common = common_options()
    p = commands.add_parser(
        "provision",
        parents=[common],
        help="enroll this kiosk at the CRM with a one-time code",
        description="Trades a one-time enrollment code (from the CRM) for this kiosk's "
        "credentials: writes the device secret (mode 600) and provisioned.toml (crm.url, "
        "shop.name: a layer over the config file) into the data directory, owned by the "
        "service user. When the kiosk has no "
        "technician yet, asks for a technician PIN (twice). Refuses to move a kiosk that "
        "still owes entries to another CRM. Run it as root. Example: kiosk provision --crm "
        "https://crm.example --code K7Q2-M9XA --store 'Shop on Valiasr'",
    )
    p.add_argument("--crm", required=True, metavar="URL", help="the CRM's https:// address")
    p.add_argument("--code", required=True, metavar="CODE", help="the one-time code")
    p.add_argument("--store", metavar="NAME", help="the shop's name, shown on the screen")
    p.add_argument("--ca-bundle", metavar="FILE", help="a private CA for the CRM's certificate")
    p.add_argument("--owner", metavar="USER", help="owner of the secret (default loyalty-kiosk)")
    p.set_defaults(handler=provision_run)

    p = commands.add_parser(
        "deprovision",
        parents=[common],
        help="forget the CRM (refused while entries are not acknowledged)",
        description="Removes the device secret and crm.url. Refused while the CRM has not "
        "acknowledged every entry: sync them (kiosk sync --once) or export them first. "
        "Run it as root. Example: kiosk deprovision",
    )
    p.set_defaults(handler=deprovision_run)

    p = commands.add_parser(
        "backup",
        parents=[common],
        help="copy the database with SQLite's backup API and keep the newest N",
        description="A consistent copy of the live database into DATA_DIR/backups (or "
        "--to), checked and synced, then only the newest --keep are kept. "
        "Example: kiosk backup --keep 14",
    )
    p.add_argument("--keep", type=int, default=14, metavar="N", help="backups to keep (14)")
    p.add_argument("--to", metavar="DIR", help="where to write (default DATA_DIR/backups)")
    p.set_defaults(handler=backup_run)

    p = commands.add_parser(
        "restore",
        parents=[common],
        help="put a backup in place of the live database, erasing again the erased",
        description="Replaces the live database by a backup of this kiosk (it must open "
        "with this kiosk's key), after erasing in it everyone erased since it was taken (the "
        "erasure journal DATA_DIR/erasures.log and the live database). Stop the kiosk first "
        "(sudo systemctl stop loyalty-kiosk loyalty-kiosk-sync): it is refused while the "
        "database is in use. Refused when the live database holds newer ledger entries, "
        "unless --discard-newer, and always when the CRM already holds entries after the "
        "backup's. The old database is kept as kiosk.db.before-restore-TIME. "
        "Example: kiosk restore /var/lib/loyalty-kiosk/backups/kiosk-20261201T033000Z.db",
    )
    p.add_argument("file", type=Path, metavar="FILE", help="the backup (a kiosk-*.db file)")
    p.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    p.add_argument(
        "--discard-newer",
        action="store_true",
        help="restore even though the live database holds newer ledger entries (they are lost)",
    )
    p.set_defaults(handler=restore_run)


def provision_run(ctx: Context, args: argparse.Namespace) -> int:
    """kiosk provision."""
    from sync.provision import check_url

    check_url(args.crm)  # before a PIN is asked or a database made
    service = ctx.service()
    staff = service.staff
    pin = None
    if not any(s.role == "technician" and not s.disabled for s in staff.list()):
        security = service.config.security
        pin = read_pin(
            f"PIN for the technician ({security.pin_min_length} to "
            f"{security.pin_max_length} digits): ",
            confirm=True,
        )
        staff.check_new_pin(pin)  # before the code is spent (a trivial or taken PIN too)
    done = ctx.appliance.provision(
        service,
        crm_url=args.crm,
        code=args.code,
        store_name=args.store,
        ca_bundle=args.ca_bundle,
        owner=args.owner,
    )
    if pin is not None:
        staff.add(name=CLI_TECHNICIAN, role="technician", pin=pin, actor=CLI)
    emit(
        ctx,
        done,
        f"provisioned device {done.device_id} at {done.crm_url}"
        + (" (credentials renewed)" if done.renewed else "")
        + f"; settings {done.config_file}, secret {done.secret_file}"
        + ("; technician PIN set" if pin is not None else ""),
    )
    return 0


def deprovision_run(ctx: Context, args: argparse.Namespace) -> int:
    """kiosk deprovision."""
    from sync.provision import deprovision

    url = deprovision(ctx.service(create=False), data_dir=ctx.data_dir)
    emit(ctx, {"deprovisioned": url}, f"this kiosk no longer syncs with {url}")
    return 0


def backup_run(ctx: Context, args: argparse.Namespace) -> int:
    """kiosk backup."""
    from kiosk.appliance.backup import backup

    result = backup(
        ctx.data_dir,
        Path(args.to) if args.to else None,
        keep=args.keep,
        keys=ctx.appliance.key_source(),
    )
    emit(
        ctx,
        result,
        f"backup {result.path} ({result.bytes:,} bytes); removed {len(result.removed)} old",
    )
    return 0


def restore_run(ctx: Context, args: argparse.Namespace) -> int:
    """kiosk restore."""
    from kiosk.appliance.restore import restore

    if not args.yes and not sys.stdin.isatty():
        raise InvalidInput("Restoring needs --yes when not run at a terminal.")
    plan = restore(
        ctx.data_dir,
        args.file,
        keys=ctx.appliance.key_source(),
        discard_newer=args.discard_newer,
        confirm=None if args.yes else _ask_restore,
        crm_high_water=_crm_high_water(ctx) if ctx.config.crm.url else None,
        actor=CLI.actor_id,
        configured_device=ctx.config.device.id,
    )
    kept = (
        f"; the old database is kept as {plan.kept} (remove it once checked)" if plan.kept else ""
    )
    emit(
        ctx,
        plan,
        f"restored {plan.backup} (ledger to seq {plan.backup_seq}); erased again "
        f"{plan.erasures_reapplied} of {plan.erasures_known} erased members"
        + (f"; discarded {plan.newer_entries} newer entries" if plan.newer_entries else "")
        + ("" if plan.live_read else "; the live database could not be read")
        + kept,
    )
    return 0


def _ask_restore(plan: RestorePlan) -> bool:
    lost = (
        f" {plan.newer_entries} newer ledger entries are lost "
        f"({plan.newer_unacknowledged} never acknowledged by the CRM)."
        if plan.newer_entries
        else ""
    )
    answer = input(
        f"Replace {plan.database} by {plan.backup} (ledger to seq {plan.backup_seq}, "
        f"{plan.erasures_reapplied} members erased again)?{lost} [y/N] "
    )
    return answer.strip().lower() in {"y", "yes"}


def _crm_high_water(ctx: Context) -> Callable[[str], int | None]:
    """Ask the CRM up to which seq it holds this device's ledger (an empty push)."""

    from sync.client import CrmError

    def ask(device_id: str) -> int | None:
        try:
            client = ctx.appliance.crm_client(device_id)
            return None if client is None else client.push([], []).high_water
        except (CrmError, KioskError, OSError, ValueError):  # not reachable: cannot tell
            return None

    return ask
