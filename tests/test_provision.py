"""`kiosk provision` and `kiosk deprovision` against the simulated CRM over loopback."""

from __future__ import annotations

import io
import json
import os
import pwd
import socket
import stat
import time
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

from kiosk.cli import main
from kiosk.config import load_config
from kiosk.core.service import LoyaltyService
from sim.crm import CrmServer
from sim.crm_store import CrmStore

DEVICE = "kiosk-provision"
PIN = "2468"


@pytest.fixture
def crm() -> Iterator[CrmServer]:
    with CrmServer(CrmStore()) as server:
        yield server


@pytest.fixture
def device(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """A fresh device: the installer's config skeleton (no CRM yet) and an empty data dir."""
    config = tmp_path / "etc" / "kiosk.toml"
    config.parent.mkdir()
    config.write_text(
        f'[device]\nid = "{DEVICE}"\n[security]\npin_scrypt_n = 1024\n[shop]\nname = "Demo"\n'
    )
    config.chmod(0o640)
    monkeypatch.setenv("KIOSK_CONFIG", str(config))
    monkeypatch.delenv("KIOSK_DATA_DIR", raising=False)
    return config, tmp_path / "data"


def run(*argv: str, stdin: str = "") -> int:
    """The `kiosk` command with `stdin` as its standard input (PINs are read from it)."""
    import sys

    saved = sys.stdin
    sys.stdin = io.StringIO(stdin)
    try:
        return main(list(argv))
    finally:
        sys.stdin = saved


def provision(data: Path, url: str, code: str, *extra: str, stdin: str = "") -> int:
    return run(
        "provision",
        "--crm",
        url,
        "--code",
        code,
        "--data-dir",
        str(data),
        "--json",
        *extra,
        stdin=stdin,
    )


def error_of(capsys: pytest.CaptureFixture[str]) -> dict[str, str]:
    answer = json.loads(capsys.readouterr().err)
    return {"code": answer["error"], "message": answer["message"]}


def open_service(config: Path, data: Path) -> LoyaltyService:
    return LoyaltyService.open(data, load_config(config, data_dir=data))


def test_a_good_code_writes_the_credentials_the_config_and_the_technician(device, crm, capsys):
    config, data = device
    code = crm.store.new_code()
    before = config.read_bytes()

    status = provision(
        data, crm.url, code.lower(), "--store", "Shop on Valiasr", stdin=f"{PIN}\n{PIN}\n"
    )

    assert status == 0, capsys.readouterr()
    done = json.loads(capsys.readouterr().out)
    layer = data / "provisioned.toml"
    secret = data / "crm-secret"
    owner = crm.store.owner.public  # the chain owner's key, from the enrollment answer
    assert tomllib.loads(layer.read_text()) == {
        "crm": {"url": crm.url, "owner_key": owner.text, "chain_id": owner.chain_id},
        "shop": {"name": "Shop on Valiasr"},
    }
    assert done["owner_key"] == owner.text
    assert config.read_bytes() == before  # /etc stays the technician's, untouched
    assert done["secret_file"] == str(secret) and done["config_file"] == str(layer)
    assert stat.S_IMODE(secret.stat().st_mode) == stat.S_IMODE(layer.stat().st_mode) == 0o600
    assert DEVICE in crm.store.view()["devices"]
    service = open_service(config, data)
    assert (service.config.crm.url, service.config.shop.name) == (crm.url, "Shop on Valiasr")
    technician = next(s for s in service.staff.active() if s.role == "technician")
    assert service.staff.login_with_pin(PIN, technician.staff_id).role == "technician"
    service.close()
    # The kiosk now syncs with what was written.
    assert run("member", "enroll", "--phone", "09121234567", "--data-dir", str(data)) == 0
    assert run("sync", "--once", "--data-dir", str(data)) == 0
    assert crm.store.view()["devices"][DEVICE]["high_water"] >= 1


@pytest.mark.parametrize("case", ["unknown", "used", "expired"])
def test_a_bad_code_is_named_and_nothing_is_written(device, crm, capsys, case):
    config, data = device
    before = config.read_bytes()
    code = {
        "unknown": lambda: "ZZZZ-ZZZZ",
        "used": lambda: _used(crm),
        "expired": lambda: crm.store.new_code(now=time.time() - 2 * 86400),
    }[case]()

    status = provision(data, crm.url, code, stdin=f"{PIN}\n{PIN}\n")

    error = error_of(capsys)
    assert status == 1 and error["code"] == f"error.provision.{case}_code"
    assert {"unknown": "does not know", "used": "already used", "expired": "expired"}[case] in (
        error["message"]
    )
    assert config.read_bytes() == before and not (data / "crm-secret").exists()
    assert not (data / "provisioned.toml").exists()
    service = open_service(config, data)
    assert service.staff.list() == []  # no technician either
    service.close()


def _used(crm: CrmServer) -> str:
    code = crm.store.new_code()
    assert crm.store.enroll(code, "another-kiosk") is not None
    return code


def test_a_crm_that_cannot_be_reached_is_said_so(device, capsys):
    _, data = device
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{closed.getsockname()[1]}"  # nobody listens there

    status = provision(data, url, "K7Q2-M9XA", stdin=f"{PIN}\n{PIN}\n")

    error = error_of(capsys)
    assert status == 1 and error["code"] == "error.provision.crm_unreachable"
    assert "cannot be reached" in error["message"]
    assert not (data / "provisioned.toml").exists() and not (data / "crm-secret").exists()


def test_a_plain_http_crm_on_the_network_is_refused(device, capsys):
    _, data = device

    status = provision(data, "http://crm.example", "K7Q2-M9XA", stdin=f"{PIN}\n{PIN}\n")

    assert status == 1 and error_of(capsys)["code"] == "error.provision.bad_url"


def test_a_kiosk_owing_entries_is_not_moved_to_another_crm_nor_deprovisioned(device, crm, capsys):
    _, data = device
    assert provision(data, crm.url, crm.store.new_code(), stdin=f"{PIN}\n{PIN}\n") == 0
    assert run("member", "enroll", "--phone", "09121234567", "--data-dir", str(data)) == 0
    capsys.readouterr()
    with CrmServer(CrmStore()) as other:
        moved = provision(data, other.url, other.store.new_code())
        move_error = error_of(capsys)
        left = run("deprovision", "--data-dir", str(data), "--json")
        left_error = error_of(capsys)
        renewed = provision(data, crm.url, crm.store.new_code())  # the same CRM: allowed
        capsys.readouterr()
        assert run("sync", "--once", "--data-dir", str(data)) == 0
        capsys.readouterr()
        moved_after_sync = provision(data, other.url, other.store.new_code())
        capsys.readouterr()
        other_url = other.url

    assert (moved, left, renewed) == (1, 1, 0)
    assert move_error["code"] == left_error["code"] == "error.provision.unacknowledged"
    assert "kiosk sync --once" in move_error["message"] and "export" in move_error["message"]
    assert moved_after_sync == 0
    assert tomllib.loads((data / "provisioned.toml").read_text())["crm"]["url"] == other_url


def test_deprovision_after_a_sync_removes_the_secret_and_the_url(device, crm, capsys):
    _, data = device
    assert provision(data, crm.url, crm.store.new_code(), stdin=f"{PIN}\n{PIN}\n") == 0
    secret = data / "crm-secret"
    assert secret.exists()

    assert run("deprovision", "--data-dir", str(data)) == 0

    assert not secret.exists()
    assert tomllib.loads((data / "provisioned.toml").read_text())["crm"]["url"] == ""
    capsys.readouterr()
    assert run("deprovision", "--data-dir", str(data), "--json") == 1
    assert error_of(capsys)["code"] == "error.provision.not_provisioned"


def test_a_pin_that_is_not_valid_is_refused_before_the_code_is_spent(device, crm, capsys):
    _, data = device
    code = crm.store.new_code()

    status = provision(data, crm.url, code, stdin="12\n12\n")

    assert status == 1 and "pin" in error_of(capsys)["code"]
    assert provision(data, crm.url, code, stdin=f"{PIN}\n{PIN}\n") == 0  # still unused


def test_the_provisioning_layer_sets_only_its_own_keys(device, capsys):
    _, data = device
    data.mkdir()
    (data / "provisioned.toml").write_text(
        '[crm]\nurl = "https://crm.example"\n[ui]\nfullscreen = false\n'
    )

    assert run("config", "show", "--data-dir", str(data)) == 2

    assert "ui.fullscreen: cannot be set by provisioning" in capsys.readouterr().err


@pytest.mark.skipif(os.geteuid() != 0, reason="giving files to another user needs root")
def test_run_as_root_the_files_are_given_to_the_service_user(device, crm):
    _, data = device
    nobody = pwd.getpwnam("nobody")

    status = provision(
        data, crm.url, crm.store.new_code(), "--owner", "nobody", stdin=f"{PIN}\n{PIN}\n"
    )

    assert status == 0
    for path in (
        data,
        data / "crm-secret",
        data / "provisioned.toml",
        data / "kiosk.db",
    ):
        assert (path.stat().st_uid, path.stat().st_gid) == (nobody.pw_uid, nobody.pw_gid), path
