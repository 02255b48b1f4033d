"""`kiosk doctor`: every health check, one line each, with what to do (kiosk.appliance.doctor)."""

from __future__ import annotations

import argparse
import dataclasses
import functools

from kiosk.appliance.doctor import (
    CRM_TIMEOUT_SECONDS,
    CheckResult,
    CrmAnswer,
    DoctorContext,
    all_ok,
    format_line,
    run_checks,
    scrub,
)
from kiosk.bootstrap import Appliance
from kiosk.cli.common import EXIT_FAILED, Context, common_options, emit
from kiosk.config import ConfigError
from kiosk.errors import SecretExposed


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the doctor command."""
    p = commands.add_parser(
        "doctor",
        parents=[common_options()],
        help="check the readers, database, disk, clock, CRM, queue and services",
        description="Runs every health check and prints one line each: pass, warn or fail, "
        "what it found, and what to do. Exit 1 when a check fails (warnings are allowed). "
        "Changes nothing. Example: kiosk doctor --json",
    )
    p.set_defaults(handler=doctor)


def doctor_context(ctx: Context) -> DoctorContext:
    """The doctor's view of this machine: the real one (tests replace parts of it)."""
    return DoctorContext(
        config=ctx.config,
        data_dir=ctx.data_dir,
        crm_probe=functools.partial(probe_crm, ctx.appliance),
    )


def probe_crm(appliance: Appliance, device_id: str, cursor: int) -> CrmAnswer:
    """One signed, read-only request to the CRM (a page of one change), with a short timeout."""
    from sync.client import CrmError

    try:
        client = appliance.crm_client(device_id)
    except SecretExposed as exposed:
        return CrmAnswer("bad_secret", str(exposed))
    except (ValueError, OSError) as exc:  # an unreadable or garbled secret file
        return CrmAnswer("bad_secret", type(exc).__name__)
    if client is None:
        return CrmAnswer("not_enrolled", "crm.url is empty")
    if client.secret is None:
        return CrmAnswer("not_enrolled", "no device secret")
    client.timeout = (CRM_TIMEOUT_SECONDS, CRM_TIMEOUT_SECONDS)
    try:
        client.changes(cursor, limit=1)
    except CrmError as error:
        if error.status is None:
            cause = error.__cause__
            return CrmAnswer("unreachable", type(cause).__name__ if cause else error.code)
        detail = f"{error.status} {error.code}"
        if error.code == "signature_expired":
            return CrmAnswer("clock", detail)
        if error.credentials:
            return CrmAnswer("credentials", detail)
        return CrmAnswer("refused", detail)
    finally:
        appliance.forget_client()
    return CrmAnswer("ok", clock_offset=client.clock_offset)


def doctor(ctx: Context, args: argparse.Namespace) -> int:
    """kiosk doctor."""
    try:
        dctx = doctor_context(ctx)
    except ConfigError as exc:
        results = [
            CheckResult(
                "config",
                "fail",
                scrub(
                    f"the configuration has {len(exc.problems)} problems: "
                    + "; ".join(p.key + ": " + p.message for p in exc.problems)
                ),
                "correct them in the config file (or the -o overrides) and run it again",
            )
        ]
    else:
        try:
            results = run_checks(dctx)
        finally:
            dctx.close()
    ok = all_ok(results)
    emit(
        ctx,
        {"checks": [dataclasses.asdict(r) for r in results], "ok": ok},
        "\n".join(format_line(r) for r in results),
    )
    return 0 if ok else EXIT_FAILED
