"""The owner's signature over a change, byte for byte, and what a kiosk reads of a PIN hash."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from kiosk.config import ConfigError
from kiosk.core.pin import hash_pin
from kiosk.core.signed import ScryptCost, scrypt_cost
from sync.owner_key import OwnerKey, OwnerSigner, canonical_json, signed_bytes
from tests.conftest import make_config

STAFF = {"staff_id": "s-1", "name": "رضا", "role": "cashier", "cards": [], "disabled": False}


def test_the_signed_bytes_are_the_documented_ones():
    data = {"version": 2, "tiers": [{"id": "t", "multiplier": "1.5"}], "note": 'a"b\\c\n\x01/'}

    assert signed_bytes("program", "chain-7", data) == (
        b"loyalty-kiosk signed change v1\n"
        b'{"chain_id":"chain-7","data":{"note":"a\\"b\\\\c\\n\\u0001/","tiers":[{"id":"t",'
        b'"multiplier":"1.5"}],"version":2},"type":"program"}'
    )
    assert signed_bytes("staff", "c", STAFF).endswith(
        '"name":"رضا","role":"cashier","staff_id":"s-1"},"type":"staff"}'.encode()
    )


def test_a_signature_verifies_for_its_change_kind_and_chain_only():
    owner = OwnerSigner.generate("chain-7")
    signature = owner.sign("staff", STAFF)
    kiosk = OwnerKey.parse(owner.public.text, "chain-7")

    assert kiosk.verify("staff", STAFF, signature)
    assert kiosk.verify("staff", dict(reversed(STAFF.items())), signature)  # order is free
    assert kiosk.verify("staff", STAFF, signature + "==")
    assert not kiosk.verify("program", STAFF, signature)
    assert not kiosk.verify("staff", STAFF | {"role": "manager"}, signature)
    assert not OwnerKey.parse(owner.public.text, "chain-8").verify("staff", STAFF, signature)
    assert not OwnerKey(Ed25519PrivateKey.generate().public_key(), "chain-7").verify(
        "staff", STAFF, signature
    )


@pytest.mark.parametrize(
    "signature",
    [None, 12, "", "x" * 86, "A" * 85, "A" * 87, "=" * 88, "A" * 86 + "=", "A" * 86 + "==="],
)
def test_anything_but_a_signature_is_no_signature(signature: object):
    owner = OwnerSigner.generate("c")

    assert not owner.public.verify("staff", STAFF, signature)


@pytest.mark.parametrize(
    "data",
    [{"x": 1.5}, {"x": 2**53}, {1: "a"}, {"ü": 1}, {"x": "\ud800"}, {"x": {1, 2}}],
    ids=["float", "beyond 2**53 - 1", "integer key", "non-ASCII key", "lone surrogate", "set"],
)
def test_data_without_a_canonical_form_cannot_be_signed_or_verified(data: dict[Any, Any]):
    owner = OwnerSigner.generate("c")

    with pytest.raises(ValueError):
        canonical_json(data)
    with pytest.raises(ValueError):
        owner.sign("staff", data)
    assert not owner.public.verify("staff", data, "A" * 86)


def test_a_key_kept_by_its_seed_signs_the_same():
    owner = OwnerSigner.generate("c")
    again = OwnerSigner.from_seed(owner.seed, "c")

    assert again.public.text == owner.public.text
    assert owner.public.verify("staff", STAFF, again.sign("staff", STAFF))
    assert len(base64.urlsafe_b64decode(owner.public.text)) == 32


def test_the_kiosks_own_pin_hash_is_read_as_written():
    assert scrypt_cost(hash_pin("1234", n=1024)) == ScryptCost(1024, 8, 1, 16, 64)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "bcrypt$1024$8$1$c2FsdA==$ZGln",
        "scrypt$1024$8$1$c2FsdA==",
        "scrypt$1000$8$1$c2FsdA==$ZGln",
        "scrypt$01024$8$1$c2FsdA==$ZGln",
        "scrypt$1024$8$-1$c2FsdA==$ZGln",
        "scrypt$1024$8$1$c2FsdA=$ZGln",
        "scrypt$1024$8$1$c2Fs_A==$ZGln",
        "scrypt$1024$٨$1$c2FsdA==$ZGln",
    ],
    ids=[
        "empty",
        "not scrypt",
        "five fields",
        "N not a power of two",
        "a leading zero",
        "a sign",
        "bad padding",
        "base64url",
        "Persian digit",
    ],
)
def test_a_pin_hash_not_in_the_format_is_not_read(text: str):
    with pytest.raises(ValueError):
        scrypt_cost(text)


@pytest.mark.parametrize(
    ("overrides", "key"),
    [
        (['crm.owner_key="not a key"', 'crm.chain_id="c"'], "crm.owner_key"),
        (['crm.owner_key="' + "A" * 43 + '="', 'crm.chain_id="a chain"'], "crm.chain_id"),
        (['crm.owner_key="' + "A" * 43 + '="'], "crm.chain_id"),
        (['crm.chain_id="c"'], "crm.owner_key"),
    ],
    ids=["not base64url", "a space in the chain id", "a key alone", "a chain alone"],
)
def test_an_owner_key_the_kiosk_could_not_use_is_a_config_problem(overrides: list[str], key: str):
    with pytest.raises(ConfigError) as found:
        make_config(*overrides)

    assert key in {problem.key for problem in found.value.problems}
