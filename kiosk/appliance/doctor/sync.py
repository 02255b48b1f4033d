"""The sync checks: the clock (NTP, and the offset from the CRM), the CRM (reachable, this
kiosk's secret and enrollment accepted) and the queue of entries waiting for it.

The CRM check needs the network client, which the core does not import: the command line
(`kiosk/cli/doctor.py`) gives the context a `crm_probe`.
"""

from __future__ import annotations

from datetime import timedelta

from kiosk.appliance.doctor.context import (
    CheckResult,
    DatabaseUnreadable,
    DoctorContext,
    Status,
    _age,
    _combine,
    _count,
)
from kiosk.core.clock import from_iso
from kiosk.core.store.outbox import Outbox, SyncState

CLOCK_WARN_SECONDS = 60.0
CLOCK_FAIL_SECONDS = 300.0  # the sync protocol refuses signatures further off than this
CLOCK_OFFSET_FRESH = timedelta(days=1)  # an offset measured longer ago is not trusted
QUEUE_WARN_AGE = timedelta(days=1)
QUEUE_FAIL_AGE = timedelta(days=7)
CRM_TIMEOUT_SECONDS = 5.0

HINT_ENROLL = (
    "get a new enrollment code from the CRM and run "
    "`sudo kiosk provision --crm URL --code CODE`, or use Provision on the technician screen"
)
HINT_SYNC = "sync with `kiosk sync --once`; if it fails, the crm check says why"


# -- 5. clock ---------------------------------------------------------------------------------


def check_clock(ctx: DoctorContext) -> CheckResult:
    """Whether NTP synchronised the clock, and how far it was from the CRM's at last contact."""
    parts: list[tuple[str, Status, str | None]] = []
    synced = _ntp_synchronised(ctx)
    fix = "turn NTP on (`sudo timedatectl set-ntp true`) and check the network reaches it"
    if synced is True:
        parts.append(("synchronised (NTP)", "pass", None))
    elif synced is False:
        parts.append(("not synchronised (NTP)", "warn", fix))
    else:
        parts.append(
            ("cannot tell whether it is synchronised", "warn", "check `timedatectl status`")
        )
    offset = _recent_offset(ctx)
    if offset is not None:
        text = f"{abs(offset):.0f} s {'behind' if offset > 0 else 'ahead of'} the CRM"
        if abs(offset) > CLOCK_FAIL_SECONDS:
            parts.append(
                (
                    text,
                    "fail",
                    f"more than {CLOCK_FAIL_SECONDS:.0f} s off: purchases, limits and expiry "
                    f"are stamped with this clock (sync signs with the CRM's time): {fix}",
                )
            )
        elif abs(offset) > CLOCK_WARN_SECONDS:
            parts.append((text, "warn", fix))
        else:
            parts.append((text, "pass", None))
    return _combine("clock", parts)


def _ntp_synchronised(ctx: DoctorContext) -> bool | None:
    answer = ctx.run(["timedatectl", "show", "-p", "NTPSynchronized", "--value"])
    if answer is not None and answer.returncode == 0:
        value = answer.stdout.strip()
        if value in ("yes", "no"):
            return value == "yes"
    if (ctx.run_dir / "systemd" / "timesync" / "synchronized").exists():
        return True
    return None


def _recent_offset(ctx: DoctorContext) -> float | None:
    """The clock offset stored at the last answered push, if that was recent."""
    try:
        conn = ctx.database()
    except DatabaseUnreadable:
        return None
    if conn is None:
        return None
    state = SyncState(conn)
    offset = state.get("clock_offset")
    measured = state.get("last_success_at")
    if not isinstance(offset, int | float) or not isinstance(measured, str):
        return None
    if ctx.now() - from_iso(measured) > CLOCK_OFFSET_FRESH:
        return None
    return float(offset)


# -- 6. CRM -----------------------------------------------------------------------------------


def check_crm(ctx: DoctorContext) -> CheckResult:
    """A signed request to the CRM: reachable, and are this kiosk's credentials accepted?"""
    crm = ctx.config.crm
    if not crm.url:
        return CheckResult(
            "crm",
            "warn" if ctx.config.device.simulated else "fail",
            "not provisioned (crm.url is empty)",
            HINT_ENROLL,
        )
    if ctx.crm_probe is None:
        return CheckResult("crm", "warn", f"{crm.url}: not checked", "run `kiosk doctor`")
    try:
        conn = ctx.database()
        device = ctx.device_id()
    except DatabaseUnreadable:
        conn, device = None, ctx.config.device.id or None
    if device is None:
        return CheckResult(
            "crm",
            "warn",
            f"{crm.url}: not checked: this kiosk has no device id yet",
            "start the kiosk once (it makes its id), or set device.id",
        )
    cursor = int(SyncState(conn).get("cursor", 0)) if conn is not None else 0
    answer = ctx.crm_probe(device, cursor)
    detail = f" ({answer.detail})" if answer.detail else ""
    if answer.outcome == "ok":
        offset = ""
        if answer.clock_offset is not None:
            offset = f", clocks {abs(answer.clock_offset):.0f} s apart"
        if conn is not None and SyncState(conn).get("credentials_refused", False):
            return CheckResult(
                "crm",
                "warn",
                f"{crm.url} answers{offset}, but syncing stopped after an earlier refusal",
                f"syncing resumes after a new enrollment: {HINT_ENROLL}",
            )
        if not crm.owner_key:
            return CheckResult(
                "crm",
                "warn",
                f"{crm.url} answers{offset}, but this kiosk has no owner key: the chain's "
                "staff and program changes are refused",
                f"provision it again to receive the key: {HINT_ENROLL}",
            )
        return CheckResult("crm", "pass", f"{crm.url} answers, credentials accepted{offset}")
    if answer.outcome == "unreachable":
        return CheckResult(
            "crm",
            "fail",
            f"{crm.url} is unreachable{detail}",
            "check the network (cable or Wi-Fi, `ping` the CRM's host, DNS) and crm.url; "
            "the kiosk keeps working and syncs when it is back",
        )
    if answer.outcome == "credentials":
        return CheckResult(
            "crm",
            "fail",
            f"{crm.url} refused this kiosk's credentials{detail}",
            f"the device was revoked or enrolled again elsewhere: re-provision it: {HINT_ENROLL}",
        )
    if answer.outcome in ("not_enrolled", "bad_secret"):
        what = "not enrolled" if answer.outcome == "not_enrolled" else "the secret file is damaged"
        return CheckResult("crm", "fail", f"{crm.url}: {what}{detail}", HINT_ENROLL)
    if answer.outcome == "clock":
        return CheckResult(
            "crm",
            "fail",
            f"{crm.url} refused the request's time{detail}",
            "the clock is more than 300 s off: see the clock check, then `kiosk doctor` again",
        )
    return CheckResult(
        "crm",
        "fail",
        f"{crm.url} refused the request{detail}",
        "try again in a while; if it stays, tell the CRM's operator what it answered",
    )


# -- 7. queue ---------------------------------------------------------------------------------


def check_queue(ctx: DoctorContext) -> CheckResult:
    """Entries waiting for the CRM: how many, how old the oldest, and any it rejected."""
    try:
        conn = ctx.database()
    except DatabaseUnreadable:
        return CheckResult(
            "queue", "warn", "not checked: the database cannot be read", "see the database check"
        )
    if conn is None:
        return CheckResult("queue", "pass", "nothing queued (no database yet)")
    device = ctx.device_id() or ""
    outbox = Outbox(conn, device)
    pending, rejected = outbox.depth()
    if not ctx.config.crm.url:
        return CheckResult(
            "queue",
            "pass",
            f"{_count(pending, 'entry', 'entries')} kept here (no CRM is configured)",
        )
    parts: list[tuple[str, Status, str | None]] = []
    oldest = outbox.oldest_pending_at()
    if pending and oldest is not None:
        age = ctx.now() - from_iso(oldest)
        text = f"{_count(pending, 'entry', 'entries')} waiting, the oldest for {_age(age)}"
        if age > QUEUE_FAIL_AGE:
            parts.append((text, "fail", HINT_SYNC))
        elif age > QUEUE_WARN_AGE:
            parts.append((text, "warn", HINT_SYNC))
        else:
            parts.append((text, "pass", None))
    else:
        parts.append(("nothing waiting", "pass", None))
    if rejected:
        parts.append(
            (
                f"{_count(rejected, 'entry', 'entries')} rejected by the CRM",
                "warn",
                "a technician must look at them: `kiosk sync status` (they are kept, never "
                "dropped)",
            )
        )
    return _combine("queue", parts)
