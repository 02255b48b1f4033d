"""Provisioning: trade a one-time enrollment code for this kiosk's CRM credentials.

`kiosk provision --crm URL --code CODE [--store NAME]` and the technician's screen both
call `provision()`. It enrolls this device at the CRM (docs/sync-protocol.md), then
writes, in the data directory, the device secret (`crm-secret`, or `crm.secret_file`;
mode 0600) and `provisioned.toml` (`crm.url`, `crm.ca_bundle`, `shop.name`), a layer the
config loader puts over `/etc/loyalty-kiosk/kiosk.toml`. The data directory is the
services' own (the touch app can provision without writing to /etc, which is read-only
to it); run as root, the files are given to the service user. Nothing is written unless
the CRM accepted the code.

Entries are never stranded: a kiosk that still owes entries to one CRM is not moved to
another (nor deprovisioned) until they are acknowledged; renewing the credentials at the
same CRM is allowed, and the queue then goes on where it was.
"""

from __future__ import annotations

import contextlib
import logging
import os
import pwd
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import tomli_w

from kiosk.config import PROVISIONED_FILENAME
from kiosk.core.service import LoyaltyService
from kiosk.core.store.outbox import Outbox
from kiosk.errors import ProvisioningFailed
from sync.client import CrmClient, CrmError
from sync.worker import credentials_renewed, save_secret, secret_path

log = logging.getLogger(__name__)

SERVICE_USER = "loyalty-kiosk"

_CODE_REFUSED = {
    "unknown": ("unknown_code", "The CRM does not know the code {code}: check it and retry."),
    "used": ("used_code", "The code {code} was already used: ask the CRM for a new one."),
    "expired": ("expired_code", "The code {code} has expired: ask the CRM for a new one."),
}


@dataclass(frozen=True)
class Provisioned:
    """What provisioning wrote."""

    device_id: str
    crm_url: str
    config_file: str
    secret_file: str
    store_name: str
    renewed: bool  # the same CRM as before: only the credentials changed


def owed(service: LoyaltyService) -> tuple[int, int]:
    """(entries the CRM has not acknowledged, of which it rejected), of this device."""
    return Outbox(service.conn, service.device_id).depth()


def check_url(url: str) -> str:
    """The CRM URL without a trailing slash; ProvisioningFailed unless http(s) with a host."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ProvisioningFailed(
            "bad_url", "The CRM address {url} is not an https:// URL.", url=url.strip()
        )
    if parts.scheme == "http" and parts.hostname not in ("127.0.0.1", "localhost", "::1"):
        raise ProvisioningFailed(
            "bad_url",
            "The CRM address {url} must use https:// (plain http only on loopback).",
            url=url.strip(),
        )
    return url.strip().rstrip("/")


def provision(
    service: LoyaltyService,
    *,
    data_dir: Path,
    crm_url: str,
    code: str,
    store_name: str | None = None,
    ca_bundle: str | None = None,
    owner: str | None = None,
    connect: Callable[[str, str, str | None], CrmClient],
) -> Provisioned:
    """Enroll at the CRM and write the credentials; nothing is written on failure.

    `connect(url, device_id, ca_bundle)` gives the client to enroll with (the composition
    root's, kiosk/bootstrap.py).
    """
    url = check_url(crm_url)
    code = code.strip().upper()
    layer_file = data_dir / PROVISIONED_FILENAME
    layer = read_layer(layer_file)
    previous_url = str(service.config.crm.url or "").rstrip("/")
    renewed = bool(previous_url) and previous_url == url
    pending, rejected = owed(service)
    if previous_url and not renewed and (pending or rejected):
        raise _owed(pending + rejected, previous_url, "moving this kiosk to another CRM")
    client = connect(url, service.device_id, ca_bundle or None)
    try:
        secret = client.enroll(code)
    except CrmError as error:
        raise _refusal(error, url, code) from error
    finally:
        client.close()
    written = save_secret(service.config.crm, data_dir, secret)
    credentials_renewed(service)  # a refusal was of the old secret: the queue goes on now
    layer.setdefault("crm", {})["url"] = url
    if ca_bundle:
        layer["crm"]["ca_bundle"] = ca_bundle
    if store_name:
        layer.setdefault("shop", {})["name"] = store_name
    write_layer(layer_file, layer)
    _give_to(owner, data_dir, [written, layer_file])
    log.info("provisioned at the CRM (renewed=%s)", renewed)
    return Provisioned(
        device_id=service.device_id,
        crm_url=url,
        config_file=str(layer_file),
        secret_file=str(written),
        store_name=str(layer.get("shop", {}).get("name", service.config.shop.name)),
        renewed=renewed,
    )


def deprovision(service: LoyaltyService, *, data_dir: Path) -> str:
    """Forget the CRM: refuse while entries are owed; remove the secret and the URL."""
    url = str(service.config.crm.url or "")
    if not url:
        raise ProvisioningFailed("not_provisioned", "This kiosk is not provisioned.")
    pending, rejected = owed(service)
    if pending or rejected:
        raise _owed(pending + rejected, url, "deprovisioning")
    layer_file = data_dir / PROVISIONED_FILENAME
    layer = read_layer(layer_file)
    layer.setdefault("crm", {})["url"] = ""  # over a URL the config file may still have
    write_layer(layer_file, layer)
    with contextlib.suppress(FileNotFoundError):
        secret_path(service.config.crm, data_dir).unlink()
    return url


def _owed(count: int, url: str, doing: str) -> ProvisioningFailed:
    return ProvisioningFailed(
        "unacknowledged",
        "{count} entries have not been acknowledged by the CRM at {previous}; {doing} would "
        "strand them. Sync them first (`kiosk sync --once`), or export them "
        "(`kiosk ledger export --format jsonl`) and hand them over.",
        count=count,
        previous=url,
        doing=doing,
    )


def read_layer(path: Path) -> dict[str, Any]:
    """The provisioning layer ({} when there is none yet)."""
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ProvisioningFailed(
            "config", "The file {path} cannot be read: {why}.", path=str(path), why=exc
        ) from exc


def write_layer(path: Path, document: dict[str, Any]) -> None:
    """Write the provisioning layer whole (a temporary file, fsync, rename)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        mode = 0o600
        temporary = path.with_name(path.name + ".new")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(_HEADER + tomli_w.dumps(document).encode())
            handle.flush()
            os.fsync(handle.fileno())
        temporary.replace(path)
    except OSError as exc:
        raise ProvisioningFailed(
            "config", "The file {path} cannot be written: {why}.", path=str(path), why=exc
        ) from exc


_HEADER = (
    b"# Written by provisioning (`kiosk provision` or the technician's screen); it overrides\n"
    b"# these keys of /etc/loyalty-kiosk/kiosk.toml. `kiosk config show` shows the result.\n\n"
)


def _refusal(error: CrmError, url: str, code: str) -> ProvisioningFailed:
    if error.code == "bad_enrollment_code":
        reason, text = _CODE_REFUSED.get(
            error.reason or "", ("unknown_code", "The CRM refused the code {code}.")
        )
        return ProvisioningFailed(reason, text, code=code)
    if error.status is None:
        return ProvisioningFailed(
            "crm_unreachable",
            "The CRM at {url} cannot be reached ({why}): check the network and the address.",
            url=url,
            why=str(error),
        )
    return ProvisioningFailed(
        "crm_refused", "The CRM at {url} refused: {why}.", url=url, why=str(error)
    )


def _give_to(owner: str | None, data_dir: Path, written: list[Path]) -> None:
    """As root, give what was written (and a database made on the way) to the service user."""
    if os.geteuid() != 0:
        return
    name = owner or SERVICE_USER
    try:
        account = pwd.getpwnam(name)
    except KeyError:
        if owner:
            raise ProvisioningFailed(
                "config", "There is no user {user} to own the secret.", user=name
            ) from None
        return  # not installed as a service (a laptop): root keeps it
    for path in [data_dir, *written, *data_dir.glob("kiosk.db*")]:
        with contextlib.suppress(FileNotFoundError):
            os.chown(path, account.pw_uid, account.pw_gid)
