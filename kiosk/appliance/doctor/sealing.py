"""The at-rest check: members' data sealed against a stolen SD card (docs/security.md)."""

from __future__ import annotations

import sqlite3

from kiosk.appliance.doctor.context import CheckResult, DatabaseUnreadable, DoctorContext
from kiosk.appliance.keys import otp_available, protects_against_theft, resolve
from kiosk.core.store.rekey import opens
from kiosk.core.store.vault import KEY_FILENAME, LocalKeyFile, stored_key
from kiosk.errors import DataKeyUnavailable

NAME = "sealing"
HINT_FILE = (
    "program the board's OTP key (Raspberry Pi 4/5: docs/install-raspberry-pi.md) or set "
    'security.key_source = "hub", then stop the kiosk and run `kiosk key rotate`'
)
HINT_OTP_READY = (
    "this board has an OTP key programmed: stop the kiosk and run `kiosk key rotate --to otp`"
)
HINT_ROTATE = "stop the kiosk and run `kiosk key rotate` (docs/cli.md)"
_SEALED_BY = {
    "otp": "the board's OTP key",
    "hub": "a key the hub keeps for this device",
    "file": f"the key file {KEY_FILENAME} beside the data",
}


# -- 9. members' data sealed against a stolen card ---------------------------------------------


def check_sealing(ctx: DoctorContext) -> CheckResult:
    """Which source wraps the data key: `otp` and `hub` pass, the local key file warns (it is
    on the card with the data); a key the configuration would not open fails."""
    found = resolve(ctx.config.security.key_source, ctx.data_dir)
    configured = found if isinstance(found, str) else found.name
    try:
        conn = ctx.database()
        stored = stored_key(conn) if conn is not None else None
    except (DatabaseUnreadable, sqlite3.Error):
        stored, conn = None, None  # the database check says what is wrong with the file
    name = stored["source"] if stored else configured
    what = f"members' data sealed with {_SEALED_BY.get(name, repr(name))}"
    if stored and name != configured:
        return CheckResult(
            NAME,
            "fail",
            f"{what}, but security.key_source gives '{configured}': the kiosk cannot open it",
            f"set security.key_source back to '{name}', or {HINT_ROTATE} to move the key",
        )
    source = found if not isinstance(found, str) else None
    if conn is not None and stored and source is not None:
        if isinstance(source, LocalKeyFile) and not source.path.exists():
            return CheckResult(
                NAME, "fail", f"{what}, but {source.path} is gone", "restore it from a copy"
            )
        try:
            opens(conn, source)
        except DataKeyUnavailable as exc:
            return CheckResult(
                NAME,
                "fail",
                f"{what}, but it does not open here: {exc.params.get('reason', exc)}",
                "was the SD card moved from another board? put it back, or restore a backup "
                "made on this one",
            )
    if source is not None and not protects_against_theft(source):
        return CheckResult(
            NAME,
            "warn",
            f"{what}: a stolen SD card opens it (the key is beside the data)",
            HINT_OTP_READY if otp_available() else HINT_FILE,
        )
    return CheckResult(NAME, "pass", f"{what}: a stolen SD card alone opens nothing")
