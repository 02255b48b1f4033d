"""Provisioning: trade a one-time enrollment code for this kiosk's CRM credentials.

`kiosk provision --crm URL --code CODE [--store NAME]` and the technician's screen both
call `provision()`. It enrolls this device at the CRM (docs/sync-protocol.md), then
writes, in the data directory, the device secret (`crm-secret`, or `crm.secret_file`;
mode 0600) and `provisioned.toml` (`crm.url`, `crm.ca_bundle`, `shop.name`, and the chain
owner's public key `crm.owner_key` with `crm.chain_id` from the enrollment answer), a layer
the config loader puts over `/etc/loyalty-kiosk/kiosk.toml`. The data directory is the
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
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from kiosk.config.crm_url import crm_url_problem
from kiosk.core import pulled
from kiosk.core.service import LoyaltyService
from kiosk.core.store.outbox import Outbox
from kiosk.core.store.vault import source_of
from kiosk.errors import ProvisioningFailed
from sync.client import CrmClient, CrmError
from sync.provisioned import layer_path, read_layer, set_owner_key, write_layer
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
    # The chain owner's public key from the enrollment answer ("" when the CRM sent none:
    # this kiosk then refuses every staff and program change).
    owner_key: str = ""


def owed(service: LoyaltyService) -> tuple[int, int]:
    """(entries the CRM has not acknowledged, of which it rejected), of this device."""
    return Outbox(service.conn, service.device_id).depth()


def check_url(url: str) -> str:
    """The CRM URL without a trailing slash; ProvisioningFailed as the config would refuse it."""
    problem = crm_url_problem(url)
    if problem is not None:
        # The technician's screen shows the catalogue's text; the CLI and the log this.
        raise ProvisioningFailed("bad_url", "The CRM address {problem}.", problem=problem)
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
    layer_file = layer_path(data_dir)
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
    written = save_secret(service.config.crm, data_dir, secret, source_of(service.conn))
    credentials_renewed(service)  # a refusal was of the old secret: the queue goes on now
    if not renewed:
        # Another CRM's feed: the cursor of the one before means nothing there.
        pulled.start_feed_again(service.conn)
    layer.setdefault("crm", {})["url"] = url
    # The key of this enrollment, or none: a key of another CRM is never kept.
    set_owner_key(layer, client.owner_key)
    if client.owner_key is None:
        log.warning("the CRM gave no owner key: staff and program changes will be refused")
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
        owner_key=client.owner_key.text if client.owner_key is not None else "",
    )


def deprovision(service: LoyaltyService, *, data_dir: Path) -> str:
    """Forget the CRM: refuse while entries are owed; remove the secret and the URL."""
    url = str(service.config.crm.url or "")
    if not url:
        raise ProvisioningFailed("not_provisioned", "This kiosk is not provisioned.")
    pending, rejected = owed(service)
    if pending or rejected:
        raise _owed(pending + rejected, url, "deprovisioning")
    layer_file = layer_path(data_dir)
    layer = read_layer(layer_file)
    layer.setdefault("crm", {})["url"] = ""  # over a URL the config file may still have
    set_owner_key(layer, None)  # and the owner key of that CRM's chain
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
