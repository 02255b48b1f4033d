"""Provisioning: trade a one-time enrollment code for this kiosk's CRM credentials.

`kiosk provision --crm URL --code CODE [--store NAME]` and the technician screen both
call `provision()`. It enrolls this device at the CRM (docs/sync-protocol.md), writes
the device secret (mode 0600, owned by the service user when run as root) and the
config file's `[crm] url`, `[crm] secret_file` and `[shop] name`. Nothing is written
unless the CRM accepted the code.

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
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import tomli_w

from kiosk.errors import ProvisioningFailed
from kiosk.outbox import Outbox
from kiosk.service import LoyaltyService
from sync.client import CrmClient, CrmError
from sync.worker import load_secret, save_secret, secret_path

log = logging.getLogger(__name__)

SERVICE_USER = "loyalty-kiosk"
SECRET_NAME = "device.secret"

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
    config_file: Path,
    data_dir: Path,
    crm_url: str,
    code: str,
    store_name: str | None = None,
    ca_bundle: str | None = None,
    owner: str | None = None,
) -> Provisioned:
    """Enroll at the CRM and write the credentials and config; nothing written on failure."""
    url = check_url(crm_url)
    code = code.strip().upper()
    document = read_config(config_file)
    crm_section: dict[str, Any] = document.get("crm", {})
    previous_url = str(crm_section.get("url") or service.config.crm.url or "").rstrip("/")
    renewed = bool(previous_url) and previous_url == url
    pending, rejected = owed(service)
    if previous_url and not renewed and (pending or rejected):
        raise ProvisioningFailed(
            "unacknowledged",
            "{count} entries have not been acknowledged by the CRM at {previous}; moving this "
            "kiosk to another CRM would strand them. Sync them first (`kiosk sync --once`), "
            "or export them (`kiosk ledger export --format jsonl`) and hand them over.",
            count=pending + rejected,
            previous=previous_url,
        )
    client = CrmClient(url, service.device_id, ca_bundle=ca_bundle or None, timeout=(5.0, 15.0))
    try:
        secret = client.enroll(code)
    except CrmError as error:
        raise _refusal(error, url, code) from error
    finally:
        client.close()
    # The secret goes where the config says, else beside the config file (on a device:
    # /etc/loyalty-kiosk/device.secret, which the services may read but not write).
    target = Path(str(crm_section.get("secret_file") or config_file.parent / SECRET_NAME))
    written = save_secret(replace(service.config.crm, secret_file=str(target)), data_dir, secret)
    _give_to(written, owner)
    document.setdefault("crm", {})
    document["crm"]["url"] = url
    document["crm"]["secret_file"] = str(written)
    if ca_bundle:
        document["crm"]["ca_bundle"] = ca_bundle
    if store_name:
        document.setdefault("shop", {})["name"] = store_name
    write_config(config_file, document)
    log.info("provisioned at the CRM (renewed=%s)", renewed)
    return Provisioned(
        device_id=service.device_id,
        crm_url=url,
        config_file=str(config_file),
        secret_file=str(written),
        store_name=str(document.get("shop", {}).get("name", service.config.shop.name)),
        renewed=renewed,
    )


def deprovision(service: LoyaltyService, *, config_file: Path, data_dir: Path) -> str:
    """Forget the CRM: refuse while entries are owed; remove the secret and the URL."""
    document = read_config(config_file)
    url = str(document.get("crm", {}).get("url") or service.config.crm.url or "")
    if not url:
        raise ProvisioningFailed("not_provisioned", "This kiosk is not provisioned.")
    pending, rejected = owed(service)
    if pending or rejected:
        raise ProvisioningFailed(
            "unacknowledged",
            "{count} entries have not been acknowledged by the CRM at {previous}; "
            "deprovisioning would strand them. Sync them first (`kiosk sync --once`), or "
            "export them (`kiosk ledger export --format jsonl`) and hand them over.",
            count=pending + rejected,
            previous=url,
        )
    secret = secret_path(service.config.crm, data_dir)
    if document.get("crm", {}).get("secret_file"):
        secret = Path(str(document["crm"]["secret_file"]))
    document.setdefault("crm", {})["url"] = ""
    write_config(config_file, document)
    with contextlib.suppress(FileNotFoundError):
        secret.unlink()
    return url


def is_provisioned(service: LoyaltyService, data_dir: Path) -> bool:
    """A CRM URL and a secret are there."""
    config = service.config.crm
    return bool(config.url) and load_secret(config, data_dir) is not None


def read_config(path: Path) -> dict[str, Any]:
    """The config file as a document ({} when it does not exist yet)."""
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ProvisioningFailed(
            "config", "The config file {path} cannot be read: {why}.", path=str(path), why=exc
        ) from exc


def write_config(path: Path, document: dict[str, Any]) -> None:
    """Write the config file whole (a temporary file, fsync, rename), keeping its mode."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        mode = path.stat().st_mode & 0o777 if path.exists() else 0o640
        owner = (path.stat().st_uid, path.stat().st_gid) if path.exists() else None
        temporary = path.with_name(path.name + ".new")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(_HEADER + tomli_w.dumps(document).encode())
            handle.flush()
            os.fsync(handle.fileno())
        temporary.chmod(mode)
        if owner is not None and os.geteuid() == 0:
            os.chown(temporary, *owner)
        temporary.replace(path)
    except OSError as exc:
        raise ProvisioningFailed(
            "config", "The config file {path} cannot be written: {why}.", path=str(path), why=exc
        ) from exc


_HEADER = (
    b"# Loyalty kiosk configuration. Every key is described in kiosk/defaults.toml;\n"
    b"# `kiosk provision` rewrites this file (its comments are not kept).\n\n"
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


def _give_to(path: Path, owner: str | None) -> None:
    """Make the secret the service user's (as root; otherwise it is already ours)."""
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
    os.chown(path, account.pw_uid, account.pw_gid)
