"""The system checks: the kiosk's systemd services, running, restarting, watched."""

from __future__ import annotations

import re

from kiosk.appliance.doctor.context import (
    INSTALL,
    CheckResult,
    DoctorContext,
    Status,
    _combine,
    _count,
    _int,
)

MANY_RESTARTS = 5

SERVICES = ("loyalty-kiosk.service", "loyalty-kiosk-sync.service")
SYNC_SERVICE = "loyalty-kiosk-sync.service"


# -- 8. services and watchdog ----------------------------------------------------------------


def check_services(ctx: DoctorContext) -> CheckResult:
    """The kiosk's systemd services: running, restarting, watched by the watchdog?"""
    if not (ctx.run_dir / "systemd" / "system").is_dir():  # sd_booted(3)
        return CheckResult(
            "services",
            "warn",
            "systemd is not running here (a container or a laptop?)",
            f"on the kiosk the services run under systemd: {INSTALL}",
        )
    properties = "Id,LoadState,ActiveState,SubState,WatchdogUSec,NRestarts"
    answer = ctx.run(["systemctl", "show", *SERVICES, "-p", properties])
    if answer is None:
        return CheckResult(
            "services",
            "warn",
            "systemd runs, but systemctl is not installed",
            "install systemd's tools (`sudo apt install systemd`)",
        )
    if answer.returncode != 0:
        return CheckResult(
            "services",
            "warn",
            f"`systemctl show` failed (exit {answer.returncode})",
            "run `systemctl status loyalty-kiosk` to see why",
        )
    units = _parse_show(answer.stdout)
    parts = [_service(ctx, name, units.get(name, {})) for name in SERVICES]
    return _combine("services", parts)


def _parse_show(text: str) -> dict[str, dict[str, str]]:
    units: dict[str, dict[str, str]] = {}
    for block in re.split(r"\n\s*\n", text.strip()):
        values = dict(line.partition("=")[::2] for line in block.splitlines() if "=" in line)
        if values.get("Id"):
            units[values["Id"]] = values
    return units


def _service(ctx: DoctorContext, name: str, unit: dict[str, str]) -> tuple[str, Status, str | None]:
    short = name.removesuffix(".service")
    if not unit or unit.get("LoadState") == "not-found":
        return f"{short}: not installed as a service", "warn", f"{INSTALL} to install it"
    if unit.get("LoadState") == "masked":
        return f"{short}: masked", "fail", f"`sudo systemctl unmask --now {short}`"
    active, sub = unit.get("ActiveState", "?"), unit.get("SubState", "?")
    restarts = _int(unit.get("NRestarts", "0"))
    watchdog = unit.get("WatchdogUSec", "0")
    text = f"{short}: {active} ({sub})"
    if watchdog not in ("0", "", "infinity"):
        text += f", watchdog {watchdog}"
    if restarts:
        text += f", {_count(restarts, 'restart', 'restarts')}"
    logs = f"`journalctl -u {short} -b` shows why"
    if active in ("inactive", "failed"):
        if name == SYNC_SERVICE and not ctx.config.crm.url:
            return (
                text + " (no CRM is configured)",
                "warn",
                "it is needed once the kiosk is provisioned (`kiosk provision`)",
            )
        return text, "fail", f"start it: `sudo systemctl restart {short}`; {logs}"
    if active != "active":
        return text, "warn", f"it is {sub}; {logs}"
    if restarts > MANY_RESTARTS:
        return text, "warn", f"it keeps restarting: {logs}"
    return text, "pass", None
