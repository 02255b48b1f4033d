"""The chain owner's Ed25519 key: made at first set-up, kept in the data directory.

The private half is the file `owner-key` (its 32-byte seed in base64url, mode 0600, made
with O_EXCL beside `secret-key`); it is read only to sign a program or staff change, and
never printed, logged or exported. The public half and the chain id are in `hub_owner`,
for the enrollment answer (`owner_key`, `chain_id`), so that serving a kiosk never
reads the private key.
"""

from __future__ import annotations

import base64
import binascii
import os
import secrets
from pathlib import Path

from django.conf import settings

from hub.errors import HubError
from hub.program.models import Owner
from sync.owner_key import OwnerSigner

OWNER_KEY_FILENAME = "owner-key"


def key_file() -> Path:
    """Where the private half is (in HUB_DATA_DIR)."""
    return Path(settings.HUB.data_dir) / OWNER_KEY_FILENAME


def ensure_owner() -> bool:
    """Make the owner's key and the chain id unless there are some; whether they were made.

    A key file that does not match the database's public key (another chain's file, or a
    database restored without its key) is refused: signing with it would make every
    kiosk refuse the chain's changes.
    """
    path = key_file()
    owner = Owner.objects.filter(only=True).first()
    if owner is None:
        if path.exists():
            raise HubError(
                f"{path} exists but the database has no owner key: restore the database "
                "that goes with it, or move the file away to make a new chain"
            )
        signer = OwnerSigner.generate(f"chain-{secrets.token_hex(4)}")
        _write_seed(path, signer.seed)
        try:
            Owner.objects.create(chain_id=signer.chain_id, public_key=signer.public.text)
        except BaseException:
            path.unlink(missing_ok=True)  # no half-made chain: the next migrate starts over
            raise
        return True
    signer_of(owner)  # refuses a missing or mismatched file
    return False


def public() -> Owner | None:
    """The chain's id and public key, or None before `hub migrate` made them."""
    return Owner.objects.filter(only=True).first()


def signer() -> OwnerSigner:
    """The owner's private key, to sign one change with."""
    owner = public()
    if owner is None:
        raise HubError("the hub has no owner key yet: run hub migrate first")
    return signer_of(owner)


def signer_of(owner: Owner) -> OwnerSigner:
    path = key_file()
    try:
        text = path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        raise HubError(
            f"the owner's key {path} is missing: restore it from the backups "
            "(without it nothing can be published)"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise HubError(f"cannot read the owner's key {path}: {exc}") from None
    try:
        seed = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        made = OwnerSigner.from_seed(seed, owner.chain_id)
    except (binascii.Error, ValueError):
        raise HubError(f"the owner's key {path} is not a key (32 bytes in base64url)") from None
    if made.public.text != owner.public_key:
        raise HubError(f"the owner's key {path} is not this chain's (its public half differs)")
    return made


def _write_seed(path: Path, seed: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as exc:
        raise HubError(f"cannot write the owner's key {path}: {exc.strerror}") from None
    with os.fdopen(descriptor, "w", encoding="ascii") as handle:
        handle.write(base64.urlsafe_b64encode(seed).decode("ascii") + "\n")
        handle.flush()
        os.fsync(handle.fileno())
