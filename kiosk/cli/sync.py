"""`kiosk sync [--once]`, `kiosk sync status`, `kiosk sync enroll CODE`: the CRM sync worker."""

from __future__ import annotations

import argparse
import logging
import signal
from types import FrameType
from typing import TYPE_CHECKING

from kiosk.cli.common import EXIT_FAILED, Context, common_options, emit, fail
from kiosk.core.sync_status import StopReason

if TYPE_CHECKING:
    import threading

    from kiosk.appliance.watchdog import Notifier
    from sync.worker import SyncWorker


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the sync command and its subcommands."""
    common = common_options()
    p = commands.add_parser(
        "sync",
        parents=[common],
        help="push the ledger to the CRM (foreground, for systemd)",
        description="Runs the sync worker in the foreground: pushes every "
        "crm.push_interval_seconds (backing off after failures), pulls every "
        "crm.pull_interval_seconds, sends a heartbeat every crm.heartbeat_interval_seconds. "
        "--once: one push (ignoring the backoff), pull and heartbeat now; exit 1 unless "
        "the queue emptied and the pull worked. "
        "Example: kiosk sync --once",
    )
    p.add_argument("--once", action="store_true", help="one push cycle, then exit")
    p.set_defaults(handler=sync_run)
    sub = p.add_subparsers(dest="sync_command", metavar="COMMAND")
    q = sub.add_parser(
        "status",
        parents=[common],
        help="queue depth, last success, last error, next attempt",
        description="Example: kiosk sync status --json",
    )
    q.set_defaults(handler=sync_status)
    q = sub.add_parser(
        "enroll",
        parents=[common],
        help="enroll this kiosk at the CRM with a one-time code",
        description="Trades the code (from the CRM) for the device secret, written to "
        "crm.secret_file (mode 600). Example: kiosk sync enroll K7Q2-M9XA",
    )
    q.add_argument("code", metavar="CODE")
    q.set_defaults(handler=sync_enroll)


def _worker(ctx: Context) -> SyncWorker:
    return ctx.appliance.sync_worker(ctx.service())


def sync_run(ctx: Context, args: argparse.Namespace) -> int:
    """kiosk sync."""
    from kiosk.appliance import logs

    logs.configure(logging.INFO)  # journald's, under systemd
    if not args.once:
        return _run_forever(ctx)
    worker = _worker(ctx)
    if worker.client is None:
        return fail(ctx, "not_configured", "no CRM is set up (crm.url is empty)")
    result = worker.drain(ignore_backoff=True)
    pulled = worker.pull() if result.stopped == StopReason.EMPTY else None
    worker.heartbeat()
    if worker.rewound is not None and result.stopped.reached_crm:
        # The CRM went back (restored from a backup) and is owed entries again: now.
        result = worker.drain(ignore_backoff=True)
    emit(
        ctx,
        {"push": result, "pull": pulled},
        f"push {result.stopped}: {result.batches} batches, {result.acknowledged} entries "
        f"acknowledged, {result.rejected} rejected"
        + (f" ({result.error})" if result.error else "")
        + (f"; pull {pulled.stopped}: {pulled.applied}" if pulled else ""),
    )
    ok = result.stopped.reached_crm and (pulled is None or pulled.stopped.reached_crm)
    return 0 if ok else EXIT_FAILED


def _run_forever(ctx: Context) -> int:
    import threading

    stopping = threading.Event()

    def stop(_signum: int, _frame: FrameType | None) -> None:
        stopping.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    notifier = ctx.appliance.systemd_notifier()
    if not _wait_until_provisioned(ctx, notifier, stopping):
        notifier.stopping()
        return 0
    # The same machinery as inside the touch app: one thread, a connection per cycle,
    # push / pull / heartbeat jobs with coalescing and no silently dropped late runs.
    background = ctx.appliance.background_sync(notifier=notifier)
    assert background is not None  # provisioned: crm.url is set
    print(f"syncing with {ctx.config.crm.url} (Ctrl-C stops)", flush=True)
    background.start()
    try:
        stopping.wait()
    finally:
        background.stop()
    return 0


def _wait_until_provisioned(ctx: Context, notifier: Notifier, stopping: threading.Event) -> bool:
    """Until crm.url and the secret are there: ready, pinging, looking again now and then.

    Under systemd the sync service starts before the kiosk is provisioned; exiting would
    make systemd restart it in a loop. False when asked to stop first.
    """
    from kiosk.errors import SecretExposed
    from sync.background import PROVISIONED_CHECK_SECONDS
    from sync.worker import load_secret

    said = False
    while not stopping.is_set():
        ctx.reload()
        config = ctx.config
        try:
            keys = ctx.appliance.key_source()
            if config.crm.url and load_secret(config.crm, ctx.data_dir, keys) is not None:
                return True
        except SecretExposed as exposed:
            if not said:
                logging.getLogger(__name__).error("%s; not syncing until then", exposed)
                notifier.ready("the device secret is readable by others")
                said = True
        if not said:
            logging.getLogger(__name__).info(
                "not provisioned yet (no crm.url or no device secret); waiting for "
                "`kiosk provision` or the technician's screen"
            )
            notifier.ready("waiting for provisioning")
            said = True
        notifier.ping()
        stopping.wait(min(PROVISIONED_CHECK_SECONDS, notifier.interval or 1e9))
    return False


def sync_status(ctx: Context, args: argparse.Namespace) -> int:
    """kiosk sync status."""
    status = _worker(ctx).status().as_dict()
    lines = [f"{key}: {value}" for key, value in status.items()]
    emit(ctx, status, "\n".join(lines))
    return 0


def sync_enroll(ctx: Context, args: argparse.Namespace) -> int:
    """kiosk sync enroll."""
    from sync.client import CrmError
    from sync.worker import save_secret

    worker = _worker(ctx)
    if worker.client is None:
        return fail(ctx, "not_configured", "set crm.url first")
    try:
        secret = worker.client.enroll(args.code)
    except CrmError as error:
        return fail(ctx, error.code, f"the CRM refused the code: {error}")
    path = save_secret(ctx.config.crm, ctx.data_dir, secret, ctx.appliance.key_source())
    worker.reset_credentials()
    emit(
        ctx,
        {"device_id": worker.service.device_id, "secret_file": str(path)},
        f"enrolled; secret in {path}",
    )
    return 0
