"""The readers' checks: is each configured reader there and may this user open it, and is
Linux's own NFC driver in the way of a USB NFC reader?"""

from __future__ import annotations

import os
import re
from pathlib import Path

from kiosk.appliance.doctor.context import (
    INSTALL,
    CheckResult,
    DoctorContext,
    Status,
    _combine,
    _int,
    _read,
)

# USB NFC readers nfcpy drives, by idVendor:idProduct.
KNOWN_USB_NFC = {
    "072f:2200": "ACS ACR122U",
    "04e6:5591": "SCM SCL3711",
    "04cc:2533": "NXP PN533",
    "054c:06c1": "Sony RC-S380/S",
    "054c:06c3": "Sony RC-S380/P",
}
KERNEL_NFC_MODULES = ("pn533_usb", "pn533", "port100", "nfc")

HINT_UDEV = f"{INSTALL} to install the udev rules, then replug the reader"
SERVICE_USER = "loyalty-kiosk"  # the user systemd/loyalty-kiosk.service runs as
HINT_DIALOUT = (
    f"add the service user to the dialout group (`sudo usermod -aG dialout {SERVICE_USER}`) "
    f"or {INSTALL}; this check runs as you: `sudo -u {SERVICE_USER} kiosk doctor` checks the "
    "service user"
)
HINT_INPUT = (
    f"add the service user to the input group (`sudo usermod -aG input {SERVICE_USER}`) or "
    f"{INSTALL} to install the udev rules"
)
HINT_BLACKLIST = (
    "Linux's own NFC driver claims the reader before the kiosk can: install "
    "systemd/modprobe/loyalty-kiosk-nfc-blacklist.conf into /etc/modprobe.d/ "
    f"({INSTALL} does), then `sudo modprobe -r pn533_usb port100 pn533 nfc` and replug the reader"
)


# -- 1. readers ----------------------------------------------------------------------------


def check_readers(ctx: DoctorContext) -> CheckResult:
    """Each configured reader: is its device there, and may this user open it?"""
    urls = ctx.reader_urls()
    if not urls:
        return CheckResult(
            "readers",
            "warn",
            "no readers are configured (readers.urls is empty)",
            'set readers.urls in /etc/loyalty-kiosk/kiosk.toml (e.g. ["nfc:usb"]), then '
            "test with `kiosk reader test`",
        )
    parts = []
    for url in urls:
        status, summary, hint = _reader(ctx, url)
        parts.append((f"{url.rstrip(':')}: {summary}", status, hint))
    return _combine("readers", parts)


def _reader(ctx: DoctorContext, url: str) -> tuple[Status, str, str | None]:
    scheme, _, rest = url.partition(":")
    if scheme == "sim":
        return "pass", "simulated", None
    if scheme == "nfc":
        return _nfc_reader(ctx, rest)
    if scheme == "serial":
        port = rest.partition("?")[0]
        if "://" in port:
            return "pass", "a pyserial URL, not probed", None
        return _device_node(ctx, Path(port), os.R_OK | os.W_OK, HINT_DIALOUT)
    if scheme == "evdev":
        return _device_node(ctx, Path(rest.partition("?")[0]), os.R_OK, HINT_INPUT)
    return "fail", "unknown kind of reader", "readers.urls takes nfc:, serial:, evdev: or sim:"


def _device_node(
    ctx: DoctorContext, path: Path, mode: int, hint: str
) -> tuple[Status, str, str | None]:
    if not path.exists():
        return (
            "fail",
            f"{path} does not exist",
            "is the reader plugged in? `ls /dev/serial/by-id /dev/input/by-id` lists the "
            "devices; correct readers.urls if it is elsewhere",
        )
    if not ctx.access(path, mode):
        wanted = "read and write" if mode & os.W_OK else "read"
        return "fail", f"this user may not {wanted} {path}", hint
    return "pass", "found, may be opened", None


def _nfc_reader(ctx: DoctorContext, rest: str) -> tuple[Status, str, str | None]:
    kind, _, where = rest.partition(":")
    if kind == "usb":
        return _usb_nfc(ctx, where)
    if kind == "tty":
        name = where.partition(":")[0]
        if not name:
            return "fail", "no serial port named", "write it as nfc:tty:USB0:pn532"
        return _device_node(ctx, ctx.dev / f"tty{name}", os.R_OK | os.W_OK, HINT_DIALOUT)
    if kind == "udp":
        return "pass", f"a network device at {where or 'localhost'}, not probed", None
    return "warn", "cannot check this kind of NFC device", "nfc:usb and nfc:tty:... are checked"


def _usb_nfc(ctx: DoctorContext, where: str) -> tuple[Status, str, str | None]:
    parts = [p for p in where.split(":") if p]
    devices = list(_usb_devices(ctx.sysfs))
    # As nfcpy reads them: usb:VID[:PID] in 4 hex digits, usb:BUS[:DEV] in 3 decimal ones.
    if 0 < len(parts) <= 2 and all(re.fullmatch(r"[0-9a-fA-F]{4}", p) for p in parts):
        wanted = ":".join(parts).lower()
        matches = [d for d in devices if d[1].startswith(wanted)]
    elif 0 < len(parts) <= 2 and all(re.fullmatch(r"[0-9]{3}", p) for p in parts):
        numbers = [int(p) for p in parts]
        matches = [d for d in devices if d[2][: len(numbers)] == tuple(numbers)]
    else:
        matches = [d for d in devices if d[1] in KNOWN_USB_NFC]
    if not matches:
        return (
            "fail",
            "no USB NFC reader found",
            "is it plugged in? `lsusb` lists USB devices; known readers: "
            + ", ".join(f"{name} ({ids})" for ids, name in KNOWN_USB_NFC.items()),
        )
    _path, ids, (bus, devnum) = matches[0]
    name = KNOWN_USB_NFC.get(ids, "USB device")
    node = ctx.dev / "bus" / "usb" / f"{bus:03d}" / f"{devnum:03d}"
    if bus and devnum and node.exists() and not ctx.access(node, os.R_OK | os.W_OK):
        return "fail", f"{name} ({ids}) found, but this user may not open {node}", HINT_UDEV
    return "pass", f"{name} ({ids}) found", None


def _usb_devices(sysfs: Path) -> list[tuple[Path, str, tuple[int, int]]]:
    """(sysfs path, vendor:product, (bus, device number)) of every USB device."""
    root = sysfs / "bus" / "usb" / "devices"
    if not root.is_dir():
        return []
    found = []
    for device in sorted(root.iterdir()):
        vendor = _read(device / "idVendor")
        product = _read(device / "idProduct")
        if not vendor or not product:
            continue
        numbers = (_int(_read(device / "busnum")), _int(_read(device / "devnum")))
        found.append((device, f"{vendor.lower()}:{product.lower()}", numbers))
    return found


# -- 2. the kernel's NFC driver ----------------------------------------------------------------


def check_kernel_driver(ctx: DoctorContext) -> CheckResult:
    """Linux's pn533 driver claims USB NFC readers before nfcpy can open them."""
    loaded = [m for m in KERNEL_NFC_MODULES if (ctx.sysfs / "module" / m).is_dir()]
    usb_nfc = any(url.startswith("nfc:usb") for url in ctx.reader_urls())
    if not loaded:
        return CheckResult("nfc_driver", "pass", "no kernel NFC driver is loaded")
    names = ", ".join(loaded)
    if not usb_nfc:
        return CheckResult(
            "nfc_driver", "pass", f"kernel NFC modules loaded ({names}); no USB NFC reader is used"
        )
    return CheckResult(
        "nfc_driver", "fail", f"the kernel NFC driver is loaded ({names})", HINT_BLACKLIST
    )
