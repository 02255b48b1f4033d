"""The provisioning layer, `provisioned.toml` in the data directory: read, and written whole.

Provisioning (sync/provision.py) writes it; the config loader puts it over the config file
(kiosk/config/loading.py). It holds the CRM's address and the chain owner's public key
with the chain id, both from the enrollment answer. The owner key is read from here again
at every pull (`owner_key`), as the device secret is read from its file at every cycle:
a running `kiosk sync` verifies with a key that `kiosk provision` or `kiosk sync enroll`
wrote in another process, without a restart.
"""

from __future__ import annotations

import logging
import os
import tomllib
from pathlib import Path
from typing import Any

import tomli_w

from kiosk.config import PROVISIONED_FILENAME, CrmConfig
from kiosk.errors import ProvisioningFailed
from sync.owner_key import OwnerKey

log = logging.getLogger(__name__)

_HEADER = (
    b"# Written by provisioning (`kiosk provision` or the technician's screen); it overrides\n"
    b"# these keys of /etc/loyalty-kiosk/kiosk.toml. `kiosk config show` shows the result.\n\n"
)


def layer_path(data_dir: Path) -> Path:
    """Where the provisioning layer is."""
    return data_dir / PROVISIONED_FILENAME


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
        temporary = path.with_name(path.name + ".new")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(_HEADER + tomli_w.dumps(document).encode())
            handle.flush()
            os.fsync(handle.fileno())
        temporary.replace(path)
    except OSError as exc:
        raise ProvisioningFailed(
            "config", "The file {path} cannot be written: {why}.", path=str(path), why=exc
        ) from exc


def set_owner_key(layer: dict[str, Any], owner: OwnerKey | None) -> None:
    """Put the owner key of the last enrollment into `layer` (empty when it gave none)."""
    crm = layer.setdefault("crm", {})
    crm["owner_key"] = owner.text if owner is not None else ""
    crm["chain_id"] = owner.chain_id if owner is not None else ""


def keep_owner_key(data_dir: Path, owner: OwnerKey | None) -> None:
    """After `kiosk sync enroll`: the owner key its answer carried, into the layer."""
    path = layer_path(data_dir)
    layer = read_layer(path)
    set_owner_key(layer, owner)
    write_layer(path, layer)


def owner_key(config: CrmConfig, data_dir: Path) -> OwnerKey | None:
    """The chain owner's key to verify with now, or None when this kiosk has none.

    The layer as it is on disk wins over the loaded config (it may have been written since
    the config was loaded); without the keys in the layer, the config's (a config file or
    an override may set them, e.g. for a hub set up by hand).
    """
    key: object = config.owner_key
    chain: object = config.chain_id
    try:
        crm = read_layer(layer_path(data_dir)).get("crm", {})
    except ProvisioningFailed as failed:
        log.error("%s", failed)
        crm = {}
    if isinstance(crm, dict) and "owner_key" in crm:
        key, chain = crm.get("owner_key"), crm.get("chain_id")
    if not key:
        return None
    try:
        return OwnerKey.parse(str(key), str(chain))
    except ValueError:
        log.error("crm.owner_key or crm.chain_id is not valid: staff and program changes refused")
        return None
