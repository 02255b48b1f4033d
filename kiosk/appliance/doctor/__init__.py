"""`kiosk doctor`: a technician's health check, one line per check with what to do about it.

Each check is a function taking a `DoctorContext` and returning a `CheckResult`: pass,
warn (the kiosk works, something needs attention) or fail (something is broken). Every
outside thing a check looks at (sysfs, /run, /dev, commands, the disk, the clock, the CRM)
comes from the context, so tests point it at fakes. Nothing here writes: the database is
opened without creating it, and the write probe is rolled back.

The CRM check needs the network client, which the core does not import: the command line
(`kiosk/cli/doctor.py`) gives the context a `crm_probe`.

Which module owns what (import the names from `kiosk.appliance.doctor`):

- `context.py`: `DoctorContext`, `CheckResult` and the other types a check takes and gives,
  `run_command`, and the wording the checks share.
- `readers.py`: the readers and the kernel's NFC driver.
- `storage.py`: the database and the disk.
- `sealing.py`: members' data sealed against a stolen SD card (the data key's source).
- `sync.py`: the clock, the CRM and the queue.
- `system.py`: the systemd services.
- here: `CHECKS` (their order), `run_checks`, `all_ok` and `format_line`.
"""

from __future__ import annotations

from collections.abc import Sequence

from kiosk.appliance.doctor.context import (
    COMMAND_TIMEOUT_SECONDS,
    INSTALL,
    MB,
    Check,
    CheckResult,
    CommandOutput,
    CrmAnswer,
    CrmOutcome,
    CrmProbe,
    DatabaseUnreadable,
    DiskSpace,
    DiskUsage,
    DoctorContext,
    Runner,
    Status,
    _describe,
    run_command,
    scrub,
)
from kiosk.appliance.doctor.readers import (
    HINT_BLACKLIST,
    HINT_DIALOUT,
    HINT_INPUT,
    HINT_UDEV,
    KERNEL_NFC_MODULES,
    KNOWN_USB_NFC,
    SERVICE_USER,
    check_kernel_driver,
    check_readers,
)
from kiosk.appliance.doctor.sealing import HINT_FILE, check_sealing
from kiosk.appliance.doctor.storage import (
    DISK_FAIL_BELOW,
    DISK_WARN_BELOW,
    HINT_RESTORE,
    check_database,
    check_disk,
)
from kiosk.appliance.doctor.sync import (
    CLOCK_FAIL_SECONDS,
    CLOCK_OFFSET_FRESH,
    CLOCK_WARN_SECONDS,
    CRM_TIMEOUT_SECONDS,
    HINT_ENROLL,
    HINT_SYNC,
    QUEUE_FAIL_AGE,
    QUEUE_WARN_AGE,
    check_clock,
    check_crm,
    check_queue,
)
from kiosk.appliance.doctor.system import (
    MANY_RESTARTS,
    SERVICES,
    SYNC_SERVICE,
    check_services,
)

__all__ = [
    "CHECKS",
    "CLOCK_FAIL_SECONDS",
    "CLOCK_OFFSET_FRESH",
    "CLOCK_WARN_SECONDS",
    "COMMAND_TIMEOUT_SECONDS",
    "CRM_TIMEOUT_SECONDS",
    "DISK_FAIL_BELOW",
    "DISK_WARN_BELOW",
    "HINT_BLACKLIST",
    "HINT_DIALOUT",
    "HINT_ENROLL",
    "HINT_FILE",
    "HINT_INPUT",
    "HINT_RESTORE",
    "HINT_SYNC",
    "HINT_UDEV",
    "INSTALL",
    "KERNEL_NFC_MODULES",
    "KNOWN_USB_NFC",
    "MANY_RESTARTS",
    "MB",
    "QUEUE_FAIL_AGE",
    "QUEUE_WARN_AGE",
    "SERVICES",
    "SERVICE_USER",
    "SYNC_SERVICE",
    "Check",
    "CheckResult",
    "CommandOutput",
    "CrmAnswer",
    "CrmOutcome",
    "CrmProbe",
    "DatabaseUnreadable",
    "DiskSpace",
    "DiskUsage",
    "DoctorContext",
    "Runner",
    "Status",
    "all_ok",
    "check_clock",
    "check_crm",
    "check_database",
    "check_disk",
    "check_kernel_driver",
    "check_queue",
    "check_readers",
    "check_sealing",
    "check_services",
    "format_line",
    "run_checks",
    "run_command",
    "scrub",
]

# -- running them -----------------------------------------------------------------------------

CHECKS: tuple[tuple[str, Check], ...] = (
    ("readers", check_readers),
    ("nfc_driver", check_kernel_driver),
    ("database", check_database),
    ("disk", check_disk),
    ("sealing", check_sealing),
    ("clock", check_clock),
    ("crm", check_crm),
    ("queue", check_queue),
    ("services", check_services),
)


def run_checks(
    ctx: DoctorContext, checks: Sequence[tuple[str, Check]] = CHECKS
) -> list[CheckResult]:
    """Every check, in order; one that raises is a failure naming the exception."""
    results = []
    for name, check in checks:
        try:
            result = check(ctx)
        except Exception as exc:  # a broken check must not hide the others
            result = CheckResult(
                name,
                "fail",
                f"the check itself failed: {type(exc).__name__}: {_describe(exc)}",
                "look at the kiosk's log (`journalctl -u loyalty-kiosk -b`) and tell the vendor",
            )
        results.append(
            CheckResult(name, result.status, scrub(result.summary), _scrub_opt(result.hint))
        )
    return results


def all_ok(results: Sequence[CheckResult]) -> bool:
    """True when no check failed (warnings allowed)."""
    return all(r.status != "fail" for r in results)


def format_line(result: CheckResult) -> str:
    """One line: status, name, what was found, and what to do."""
    line = f"{result.status:<4}  {result.name:<10}  {result.summary}"
    if result.hint and result.status != "pass":
        line += f" -- {result.hint}"
    return line


def _scrub_opt(text: str | None) -> str | None:
    return None if text is None else scrub(text)
