"""`kiosk doctor`: each check against real files, a real simulated CRM and fake system parts.

The command-line tests run `kiosk doctor` through `kiosk.cli.main` on a real data
directory, against the simulated CRM on loopback; only what a test machine cannot have
(sysfs, systemd, timedatectl, a full disk, a later clock) is replaced in the doctor's
context. The unit tests call the checks of kiosk/appliance/doctor/ directly with fakes.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import socket
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import kiosk.cli.doctor as cli_doctor
from kiosk.appliance.doctor import (
    CHECKS,
    MB,
    CheckResult,
    CommandOutput,
    CrmAnswer,
    CrmProbe,
    DiskUsage,
    DoctorContext,
    all_ok,
    check_clock,
    check_crm,
    check_database,
    check_disk,
    check_kernel_driver,
    check_queue,
    check_readers,
    check_services,
    run_checks,
    scrub,
)
from kiosk.cli import main
from kiosk.config import KioskConfig
from kiosk.config.schema import PROVISIONED_FILENAME
from kiosk.core.service import LoyaltyService
from kiosk.core.store.outbox import SyncState
from sim.crm import CrmServer
from sim.crm_faults import Faults
from sim.crm_store import CrmStore
from tests.conftest import START, make_config
from tests.test_key_rotation import on_otp_board

PHONE = "09121234567"
PHONE_E164 = "+989121234567"
CARD = "04A23B4C"
NAMES = [
    "readers",
    "nfc_driver",
    "database",
    "disk",
    "sealing",
    "clock",
    "crm",
    "queue",
    "services",
]
PLENTY = DiskUsage(total=32_000 * MB, used=2_000 * MB, free=30_000 * MB)


# -- a fake machine: sysfs, /run, /dev, commands ------------------------------------------------


def show(
    unit: str, load: str = "loaded", active: str = "active", sub: str = "running", **more: str
) -> str:
    values = {
        "Id": unit,
        "LoadState": load,
        "ActiveState": active,
        "SubState": sub,
        "WatchdogUSec": "30s",
        "NRestarts": "0",
        **more,
    }
    return "\n".join(f"{key}={value}" for key, value in values.items())


class Machine:
    """What the doctor sees of the system: a folder tree and canned command answers."""

    def __init__(self, root: Path) -> None:
        self.sysfs = root / "sys"
        self.run_dir = root / "run"
        self.dev = root / "dev"
        for folder in (self.sysfs / "bus" / "usb" / "devices", self.run_dir, self.dev):
            folder.mkdir(parents=True)
        self.systemd(running=True)
        self.ntp: str | None = "yes"
        self.units = {
            "loyalty-kiosk.service": show("loyalty-kiosk.service"),
            "loyalty-kiosk-sync.service": show("loyalty-kiosk-sync.service"),
        }
        self.commands: dict[str, bool] = {"timedatectl": True, "systemctl": True}
        self.disk: DiskUsage = PLENTY
        self.now: Callable[[], datetime] = lambda: datetime.now(UTC)
        self.denied: set[Path] = set()
        self.calls: list[list[str]] = []

    def systemd(self, *, running: bool) -> None:
        marker = self.run_dir / "systemd" / "system"
        if running:
            marker.mkdir(parents=True, exist_ok=True)
        elif marker.exists():
            marker.rmdir()

    def usb_device(self, name: str, ids: str, bus: int = 1, devnum: int = 4) -> None:
        device = self.sysfs / "bus" / "usb" / "devices" / name
        device.mkdir()
        vendor, product = ids.split(":")
        for file, value in (("idVendor", vendor), ("idProduct", product)):
            (device / file).write_text(value + "\n")
        (device / "busnum").write_text(f"{bus}\n")
        (device / "devnum").write_text(f"{devnum}\n")

    def module(self, name: str) -> None:
        (self.sysfs / "module" / name).mkdir(parents=True)

    def run(self, argv: Sequence[str]) -> CommandOutput | None:
        self.calls.append(list(argv))
        if not self.commands.get(argv[0], False):
            return None
        if argv[0] == "timedatectl":
            return CommandOutput(0, f"{self.ntp}\n") if self.ntp else CommandOutput(1, "")
        if argv[0] == "systemctl":
            units = [a for a in argv if a.endswith(".service")]
            return CommandOutput(0, "\n\n".join(self.units[u] for u in units) + "\n")
        raise AssertionError(argv)

    def access(self, path: Path, mode: int) -> bool:
        return Path(path) not in self.denied and os.access(path, mode)

    def apply(self, ctx: DoctorContext) -> DoctorContext:
        return dataclasses.replace(
            ctx,
            sysfs=self.sysfs,
            run_dir=self.run_dir,
            dev=self.dev,
            run=self.run,
            disk_usage=lambda _path: self.disk,
            now=self.now,
            access=self.access,
        )

    def context(
        self, config: KioskConfig, data_dir: Path, crm_probe: CrmProbe | None = None
    ) -> DoctorContext:
        return dataclasses.replace(self.apply(DoctorContext(config, data_dir)), crm_probe=crm_probe)


@pytest.fixture
def machine(tmp_path: Path) -> Machine:
    return Machine(tmp_path / "machine")


# -- the command line ------------------------------------------------------------------------


class Kiosk:
    """`kiosk ...` on one data directory and one config file, output captured."""

    def __init__(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        self.data = tmp_path / "data"
        self.config = tmp_path / "kiosk.toml"
        self.capsys = capsys
        self.configure()

    def configure(
        self, *, readers: Sequence[str] = ("sim:",), crm: str = "", simulated: bool = False
    ) -> None:
        urls = ", ".join(json.dumps(url) for url in readers)
        self.config.write_text(
            f'[device]\nid = "kiosk-doctor"\nsimulated = {str(simulated).lower()}\n'
            f"[security]\npin_scrypt_n = 1024\n"
            f'[crm]\nurl = "{crm}"\n'
            f"[readers]\nurls = [{urls}]\n"
        )

    def __call__(self, *args: str) -> tuple[int, str, str]:
        status = main([*args, "--data-dir", str(self.data)])
        captured = self.capsys.readouterr()
        return status, captured.out, captured.err

    def doctor(self, *args: str) -> tuple[int, dict[str, tuple[str, str]], str]:
        """(exit status, {check: (status, rest of its line)}, whole output)."""
        status, out, err = self("doctor", *args)
        assert "Traceback" not in out + err
        assert err == ""
        lines = {}
        for line in out.splitlines():
            state, name, rest = line.split(maxsplit=2)
            assert state in ("pass", "warn", "fail"), line
            lines[name] = (state, rest)
        return status, lines, out


@pytest.fixture
def kiosk(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    machine: Machine,
) -> Kiosk:
    runner = Kiosk(tmp_path, capsys)
    monkeypatch.setenv("KIOSK_CONFIG", str(runner.config))
    real = cli_doctor.doctor_context
    monkeypatch.setattr(cli_doctor, "doctor_context", lambda ctx: machine.apply(real(ctx)))
    return runner


@pytest.fixture
def crm() -> Iterator[CrmServer]:
    with CrmServer(CrmStore()) as server:
        yield server


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def test_a_healthy_kiosk_passes_every_check_and_exits_0(
    kiosk: Kiosk, crm: CrmServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    on_otp_board(tmp_path, monkeypatch)  # a Raspberry Pi 4/5 with its OTP key programmed
    kiosk.configure(readers=["sim:"], crm=crm.url)
    assert kiosk("sync", "enroll", crm.store.new_code())[0] == 0
    assert kiosk("member", "enroll", "--phone", PHONE, "--card", CARD)[0] == 0
    assert kiosk("sync", "--once")[0] == 0

    status, lines, out = kiosk.doctor()

    assert status == 0
    assert list(lines) == NAMES
    assert {name: state for name, (state, _) in lines.items()} == dict.fromkeys(NAMES, "pass")
    assert "simulated" in lines["readers"][1]
    assert "credentials accepted" in lines["crm"][1]
    assert "integrity ok, ledger ok" in lines["database"][1]
    assert "watchdog 30s" in lines["services"][1]
    assert " -- " not in out  # no hints when all is well
    for secret in (PHONE, PHONE_E164, PHONE[1:], CARD, CARD.lower()):
        assert secret not in out


def test_a_kiosk_without_the_owner_key_is_told_to_provision_again(
    kiosk: Kiosk, crm: CrmServer
) -> None:
    # Provisioned before owner keys existed: entries sync, staff and program changes do not.
    kiosk.configure(readers=["sim:"], crm=crm.url)
    assert kiosk("sync", "enroll", crm.store.new_code())[0] == 0
    layer = kiosk.data / PROVISIONED_FILENAME
    layer.write_text(re.sub(r'(owner_key|chain_id) = ".*"', r'\1 = ""', layer.read_text()))

    status, lines, _ = kiosk.doctor()

    state, rest = lines["crm"]
    assert state == "warn" and status == 0
    assert "no owner key" in rest and "staff and program changes are refused" in rest
    assert "kiosk provision" in rest


def test_a_missing_reader_fails_with_exit_1(kiosk: Kiosk, tmp_path: Path) -> None:
    kiosk.configure(readers=[f"serial:{tmp_path}/ttyUSB9?protocol=rdm6300"], simulated=True)

    status, lines, _ = kiosk.doctor()

    assert status == 1
    state, rest = lines["readers"]
    assert state == "fail"
    assert "does not exist" in rest and "plugged in" in rest
    assert lines["crm"][0] == "warn"  # no CRM on a simulated kiosk is only a warning


def test_a_serial_reader_that_is_there_and_permitted_passes(kiosk: Kiosk, tmp_path: Path) -> None:
    port = tmp_path / "ttyUSB0"
    port.write_bytes(b"")
    kiosk.configure(readers=[f"serial:{port}?protocol=rdm6300"], simulated=True)

    status, lines, _ = kiosk.doctor()

    assert lines["readers"] == ("pass", f"serial:{port}?protocol=rdm6300: found, may be opened")
    assert status == 0


def test_a_corrupt_database_fails_without_a_traceback_and_is_left_alone(kiosk: Kiosk) -> None:
    kiosk.configure(simulated=True)
    kiosk.data.mkdir()
    garbage = bytes(range(256)) * 64
    (kiosk.data / "kiosk.db").write_bytes(garbage)

    status, lines, _ = kiosk.doctor()

    assert status == 1
    state, rest = lines["database"]
    assert state == "fail"
    assert "cannot be read" in rest and "not a database" in rest and "backup" in rest
    assert lines["queue"][0] == "warn"  # not checked, and not a crash
    assert (kiosk.data / "kiosk.db").read_bytes() == garbage


def test_a_missing_database_is_a_warning_and_is_not_created(kiosk: Kiosk) -> None:
    kiosk.configure(simulated=True)

    status, lines, _ = kiosk.doctor()

    assert status == 0
    assert lines["database"][0] == "warn" and "not started yet" in lines["database"][1]
    assert not kiosk.data.exists()


def test_a_full_disk_fails(kiosk: Kiosk, machine: Machine) -> None:
    kiosk.configure(simulated=True)
    machine.disk = DiskUsage(total=8_000 * MB, used=7_950 * MB, free=50 * MB)

    status, lines, _ = kiosk.doctor()

    assert status == 1
    assert lines["disk"][0] == "fail"
    assert "50.0 MB free" in lines["disk"][1] and "free some space" in lines["disk"][1]


def test_an_unreachable_crm_fails(kiosk: Kiosk) -> None:
    from sync.worker import save_secret

    kiosk.configure(crm=f"http://127.0.0.1:{closed_port()}")
    save_secret(make_config().crm, kiosk.data, b"k" * 32)

    status, lines, _ = kiosk.doctor()

    assert status == 1
    state, rest = lines["crm"]
    assert state == "fail"
    assert "unreachable" in rest and "check the network" in rest


def test_revoked_credentials_fail_with_a_hint_to_provision_again(kiosk: Kiosk) -> None:
    with CrmServer(CrmStore(), faults=Faults.parse("revoked")) as crm:
        kiosk.configure(crm=crm.url)
        assert kiosk("sync", "enroll", crm.store.new_code())[0] == 0

        status, lines, _ = kiosk.doctor()

    assert status == 1
    state, rest = lines["crm"]
    assert state == "fail"
    assert "refused this kiosk's credentials" in rest and "403" in rest
    assert "kiosk provision" in rest or "kiosk sync enroll" in rest


def test_a_kiosk_never_enrolled_fails_the_crm_check(kiosk: Kiosk, crm: CrmServer) -> None:
    kiosk.configure(crm=crm.url)

    status, lines, _ = kiosk.doctor()

    assert status == 1
    assert lines["crm"][0] == "fail" and "not enrolled" in lines["crm"][1]


def test_the_kernel_nfc_driver_in_the_way_fails(kiosk: Kiosk, machine: Machine) -> None:
    kiosk.configure(readers=["nfc:usb"], simulated=True)
    machine.usb_device("1-1.2", "072f:2200")
    machine.module("pn533_usb")
    machine.module("pn533")

    status, lines, _ = kiosk.doctor()

    assert status == 1
    assert lines["readers"] == ("pass", "nfc:usb: ACS ACR122U (072f:2200) found")
    state, rest = lines["nfc_driver"]
    assert state == "fail"
    assert "pn533_usb, pn533" in rest
    assert "loyalty-kiosk-nfc-blacklist.conf" in rest
    assert "sudo modprobe -r pn533_usb port100 pn533 nfc" in rest


def test_an_old_queue_warns_after_a_day_and_fails_after_a_week(
    kiosk: Kiosk, crm: CrmServer, machine: Machine
) -> None:
    kiosk.configure(crm=crm.url)
    assert kiosk("sync", "enroll", crm.store.new_code())[0] == 0
    assert kiosk("member", "enroll", "--phone", PHONE)[0] == 0  # one entry, not pushed
    made = datetime.now(UTC)

    machine.now = lambda: made + timedelta(days=3)
    status, lines, _ = kiosk.doctor()
    assert status == 0
    assert lines["queue"][0] == "warn"
    assert "1 entry waiting, the oldest for 3 days" in lines["queue"][1]
    assert "kiosk sync --once" in lines["queue"][1]

    machine.now = lambda: made + timedelta(days=8)
    status, lines, _ = kiosk.doctor()
    assert status == 1
    assert lines["queue"][0] == "fail"

    # Pushed: nothing waits any more.
    assert kiosk("sync", "--once")[0] == 0
    status, lines, _ = kiosk.doctor()
    assert lines["queue"] == ("pass", "nothing waiting")


def test_json_has_every_check_and_the_verdict(kiosk: Kiosk, tmp_path: Path) -> None:
    kiosk.configure(readers=[f"serial:{tmp_path}/missing"], simulated=True)

    status, out, err = kiosk("doctor", "--json")

    document = json.loads(out)
    assert err == ""
    assert [check["name"] for check in document["checks"]] == NAMES
    for check in document["checks"]:
        assert set(check) == {"name", "status", "summary", "hint"}
        assert check["status"] in ("pass", "warn", "fail")
        assert (check["hint"] is None) == (check["status"] == "pass")
    assert document["ok"] is False and status == 1


def test_a_broken_config_is_one_failing_check(kiosk: Kiosk) -> None:
    status, out, _ = kiosk("doctor", "-o", "readers.urls=['bogus']", "--json")

    document = json.loads(out)
    assert status == 1
    assert [c["name"] for c in document["checks"]] == ["config"]
    assert "readers.urls[0]" in document["checks"][0]["summary"]


def test_doctor_is_in_the_command_tree_with_an_example() -> None:
    from kiosk.cli import build_parser

    assert build_parser().parse_args(["doctor"]).handler is cli_doctor.doctor
    docs = (Path(__file__).resolve().parent.parent / "docs" / "cli.md").read_text()
    assert "### `kiosk doctor`" in docs


# -- the checks one by one, with fakes ---------------------------------------------------------


def sim_config(*overrides: str) -> KioskConfig:
    return make_config(*overrides)


def test_services_active_with_a_watchdog_pass(machine: Machine, tmp_path: Path) -> None:
    result = check_services(machine.context(sim_config(), tmp_path))

    assert result.status == "pass"
    assert result.summary == (
        "loyalty-kiosk: active (running), watchdog 30s; "
        "loyalty-kiosk-sync: active (running), watchdog 30s"
    )
    assert machine.calls[-1][:2] == ["systemctl", "show"]


@pytest.mark.parametrize(
    ("unit", "status", "words"),
    [
        (show("loyalty-kiosk.service", active="failed", sub="failed"), "fail", "systemctl restart"),
        (show("loyalty-kiosk.service", active="inactive", sub="dead"), "fail", "journalctl"),
        (show("loyalty-kiosk.service", NRestarts="7"), "warn", "keeps restarting"),
        (show("loyalty-kiosk.service", active="activating", sub="auto-restart"), "warn", "auto"),
        (show("loyalty-kiosk.service", load="not-found", active="inactive"), "warn", "install"),
        (show("loyalty-kiosk.service", load="masked", active="inactive"), "fail", "unmask"),
    ],
)
def test_services_in_trouble(
    machine: Machine, tmp_path: Path, unit: str, status: str, words: str
) -> None:
    machine.units["loyalty-kiosk.service"] = unit

    result = check_services(machine.context(sim_config(), tmp_path))

    assert result.status == status
    assert words in f"{result.summary} {result.hint}"


def test_a_stopped_sync_service_without_a_crm_is_only_a_warning(
    machine: Machine, tmp_path: Path
) -> None:
    machine.units["loyalty-kiosk-sync.service"] = show(
        "loyalty-kiosk-sync.service", active="inactive", sub="dead"
    )

    assert check_services(machine.context(sim_config(), tmp_path)).status == "warn"
    with_crm = sim_config("crm.url=http://127.0.0.1:1")
    assert check_services(machine.context(with_crm, tmp_path)).status == "fail"


def test_services_without_systemd_warn(machine: Machine, tmp_path: Path) -> None:
    machine.systemd(running=False)

    result = check_services(machine.context(sim_config(), tmp_path))

    assert (result.status, result.summary) == (
        "warn",
        "systemd is not running here (a container or a laptop?)",
    )
    assert machine.calls == []  # systemctl is not even asked

    machine.systemd(running=True)
    machine.commands["systemctl"] = False
    result = check_services(machine.context(sim_config(), tmp_path))
    assert result.status == "warn" and "systemctl is not installed" in result.summary


@pytest.mark.parametrize(
    ("ntp", "flag", "status", "words"),
    [
        ("yes", False, "pass", "synchronised (NTP)"),
        ("no", False, "warn", "not synchronised"),
        (None, True, "pass", "synchronised (NTP)"),
        (None, False, "warn", "cannot tell"),
    ],
)
def test_clock_synchronisation(
    machine: Machine, tmp_path: Path, ntp: str | None, flag: bool, status: str, words: str
) -> None:
    machine.commands["timedatectl"] = ntp is not None
    machine.ntp = ntp
    if flag:
        (machine.run_dir / "systemd" / "timesync").mkdir(parents=True)
        (machine.run_dir / "systemd" / "timesync" / "synchronized").touch()

    result = check_clock(machine.context(sim_config(), tmp_path))

    assert result.status == status
    assert result.summary.startswith(words)


@pytest.mark.parametrize(
    ("offset", "measured_ago", "status"),
    [
        (3.0, timedelta(minutes=5), "pass"),
        (-120.0, timedelta(minutes=5), "warn"),
        (400.0, timedelta(hours=2), "fail"),
        (400.0, timedelta(days=2), "pass"),  # too old to trust
    ],
)
def test_clock_offset_from_the_crm(
    machine: Machine,
    service: LoyaltyService,
    tmp_path: Path,
    offset: float,
    measured_ago: timedelta,
    status: str,
) -> None:
    measured = START - measured_ago
    SyncState(service.conn).set(
        clock_offset=offset, last_success_at=measured.strftime("%Y-%m-%dT%H:%M:%SZ")
    )
    machine.now = lambda: START

    result = check_clock(machine.context(service.config, tmp_path / "data"))

    assert result.status == status
    if measured_ago < timedelta(days=1):
        assert f"{abs(offset):.0f} s" in result.summary
    if status == "fail":
        assert "300 s" in (result.hint or "")


def test_disk_thresholds(machine: Machine, tmp_path: Path) -> None:
    def status_with(free_mb: int) -> str:
        machine.disk = DiskUsage(total=8_000 * MB, used=(8_000 - free_mb) * MB, free=free_mb * MB)
        return check_disk(machine.context(sim_config(), tmp_path / "not-yet")).status

    assert [status_with(mb) for mb in (50, 99, 100, 300, 499, 500, 4_000)] == [
        "fail",
        "fail",
        "warn",
        "warn",
        "warn",
        "pass",
        "pass",
    ]


def test_disk_reads_the_real_file_system_of_the_nearest_existing_folder(tmp_path: Path) -> None:
    result = check_disk(DoctorContext(sim_config(), tmp_path / "a" / "b"))

    assert "free of" in result.summary and f"({tmp_path})" in result.summary


def test_a_serial_port_without_permission_points_at_the_dialout_group(
    machine: Machine, tmp_path: Path
) -> None:
    port = tmp_path / "ttyUSB0"
    port.touch()
    machine.denied.add(port)

    result = check_readers(machine.context(sim_config(f'readers.urls=["serial:{port}"]'), tmp_path))

    assert result.status == "fail"
    assert "may not read and write" in result.summary
    assert "dialout" in (result.hint or "")


def test_an_evdev_reader_without_permission_points_at_the_input_group(
    machine: Machine, tmp_path: Path
) -> None:
    device = tmp_path / "event3"
    device.touch()
    machine.denied.add(device)

    result = check_readers(
        machine.context(sim_config(f'readers.urls=["evdev:{device}"]'), tmp_path)
    )

    assert result.status == "fail" and "input group" in (result.hint or "")


def test_a_usb_nfc_reader_this_user_may_not_open_points_at_the_udev_rules(
    machine: Machine, tmp_path: Path
) -> None:
    machine.usb_device("1-1", "054c:06c3", bus=1, devnum=7)
    node = machine.dev / "bus" / "usb" / "001" / "007"
    node.parent.mkdir(parents=True)
    node.touch()
    machine.denied.add(node)

    result = check_readers(machine.context(sim_config('readers.urls=["nfc:usb"]'), tmp_path))

    assert result.status == "fail"
    assert "Sony RC-S380/P (054c:06c3) found, but this user may not open" in result.summary
    assert "sudo systemd/install.sh" in (result.hint or "")


def test_usb_nfc_readers_by_vendor_and_product(machine: Machine, tmp_path: Path) -> None:
    machine.usb_device("1-1", "072f:2200")
    machine.usb_device("1-2", "1d6b:0002")  # a hub: not a reader

    def status(url: str) -> str:
        config = sim_config(f'readers.urls=["{url}"]')
        return check_readers(machine.context(config, tmp_path)).status

    assert status("nfc:usb") == "pass"
    assert status("nfc:usb:072f:2200") == "pass"
    assert status("nfc:usb:054c:06c1") == "fail"
    assert status("nfc:usb:072f") == "pass"
    assert status("nfc:usb:001") == "pass"
    assert status("nfc:usb:001:004") == "pass"
    assert status("nfc:usb:001:005") == "fail"
    assert status("nfc:udp:127.0.0.1:54321") == "pass"


def test_nfc_on_a_serial_port(machine: Machine, tmp_path: Path) -> None:
    config = sim_config('readers.urls=["nfc:tty:USB0:pn532"]')
    assert check_readers(machine.context(config, tmp_path)).status == "fail"

    (machine.dev / "ttyUSB0").touch()
    assert check_readers(machine.context(config, tmp_path)).status == "pass"


def test_no_readers_on_a_device_warns_and_a_simulated_kiosk_uses_sim(
    machine: Machine, tmp_path: Path
) -> None:
    result = check_readers(machine.context(sim_config(), tmp_path))
    assert result.status == "warn" and "no readers" in result.summary

    simulated = sim_config("device.simulated=true")
    assert check_readers(machine.context(simulated, tmp_path)) == CheckResult(
        "readers", "pass", "sim: simulated"
    )


def test_the_kernel_driver_matters_only_with_a_usb_nfc_reader(
    machine: Machine, tmp_path: Path
) -> None:
    machine.module("nfc")
    serial = sim_config('readers.urls=["serial:/dev/ttyUSB0"]')
    usb = sim_config('readers.urls=["nfc:usb:072f:2200"]')

    assert check_kernel_driver(machine.context(serial, tmp_path)).status == "pass"
    assert check_kernel_driver(machine.context(usb, tmp_path)).status == "fail"


def test_ledger_problems_fail_the_database_check(
    machine: Machine, service: LoyaltyService, tmp_path: Path
) -> None:
    member = service.enroll(PHONE, client_txn_id="e-1").member_id
    ctx = machine.context(service.config, tmp_path / "data")
    assert check_database(ctx).status == "pass"
    ctx.close()

    service.conn.execute("UPDATE members SET balance = balance + 5 WHERE member_id = ?", (member,))
    ctx = machine.context(service.config, tmp_path / "data")
    result = check_database(ctx)
    ctx.close()

    assert result.status == "fail"
    assert "balance equals the sum of entries" in result.summary
    assert "kiosk ledger verify" in (result.hint or "")


def test_rejected_entries_warn_for_a_technician(
    machine: Machine, service: LoyaltyService, tmp_path: Path
) -> None:
    service.enroll(PHONE, client_txn_id="e-1")
    service.conn.execute("UPDATE outbox SET state = 'rejected', error = 'bad_entry'")
    config = make_config("crm.url=http://127.0.0.1:1")
    machine.now = lambda: START + timedelta(hours=1)

    result = check_queue(machine.context(config, tmp_path / "data"))

    assert result.status == "warn"
    assert result.summary == "nothing waiting; 1 entry rejected by the CRM"
    assert "kiosk sync status" in (result.hint or "")


def test_a_queue_without_a_crm_is_kept_and_fine(
    machine: Machine, service: LoyaltyService, tmp_path: Path
) -> None:
    service.enroll(PHONE, client_txn_id="e-1")
    machine.now = lambda: START + timedelta(days=30)

    result = check_queue(machine.context(service.config, tmp_path / "data"))

    assert (result.status, result.summary) == ("pass", "1 entry kept here (no CRM is configured)")


@pytest.mark.parametrize(
    ("answer", "status", "words"),
    [
        (CrmAnswer("ok", clock_offset=2.0), "pass", "clocks 2 s apart"),
        (CrmAnswer("clock", "401 signature_expired"), "fail", "300 s"),
        (CrmAnswer("refused", "503 unavailable"), "fail", "503 unavailable"),
        (CrmAnswer("bad_secret", "Error"), "fail", "secret file is damaged"),
    ],
)
def test_crm_answers(
    machine: Machine, tmp_path: Path, answer: CrmAnswer, status: str, words: str
) -> None:
    asked: list[tuple[str, int]] = []

    def probe(device: str, cursor: int) -> CrmAnswer:
        asked.append((device, cursor))
        return answer

    config = make_config(
        "crm.url=http://127.0.0.1:1", f"crm.owner_key={'A' * 43}", "crm.chain_id=chain-7"
    )
    result = check_crm(machine.context(config, tmp_path, crm_probe=probe))

    assert result.status == status
    assert words in f"{result.summary} {result.hint}"
    assert asked == [("kiosk-test", 0)]


def test_a_crm_that_answers_after_a_refusal_still_needs_a_new_enrollment(
    machine: Machine, service: LoyaltyService, tmp_path: Path
) -> None:
    SyncState(service.conn).set(credentials_refused=True, cursor=12)
    config = make_config("crm.url=http://127.0.0.1:1")
    asked: list[int] = []

    def probe(device: str, cursor: int) -> CrmAnswer:
        asked.append(cursor)
        return CrmAnswer("ok")

    result = check_crm(machine.context(config, tmp_path / "data", crm_probe=probe))

    assert result.status == "warn" and "stopped after an earlier refusal" in result.summary
    assert asked == [12]


def test_no_crm_fails_on_a_device_and_warns_in_simulator_mode(
    machine: Machine, tmp_path: Path
) -> None:
    assert check_crm(machine.context(sim_config(), tmp_path)).status == "fail"
    simulated = sim_config("device.simulated=true")
    assert check_crm(machine.context(simulated, tmp_path)).status == "warn"


def test_a_check_that_raises_is_a_failure_naming_the_exception_with_nothing_personal(
    machine: Machine, tmp_path: Path
) -> None:
    def broken(_ctx: DoctorContext) -> CheckResult:
        raise RuntimeError(f"card {CARD} of {PHONE_E164} upset the driver")

    def fine(_ctx: DoctorContext) -> CheckResult:
        return CheckResult("fine", "pass", "ok")

    results = run_checks(
        machine.context(sim_config(), tmp_path), [("broken", broken), ("fine", fine)]
    )

    assert results[1] == CheckResult("fine", "pass", "ok")
    assert results[0].name == "broken" and results[0].status == "fail"
    assert "RuntimeError" in results[0].summary
    assert CARD not in results[0].summary and PHONE_E164 not in results[0].summary
    assert "[card]" in results[0].summary and "[phone]" in results[0].summary
    assert not all_ok(results)


def test_every_check_is_listed_once() -> None:
    assert [name for name, _check in CHECKS] == NAMES


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"phone {PHONE_E164}", "phone [phone]"),
        (f"phone {PHONE}", "phone [phone]"),
        (f"card {CARD}", "card [card]"),
        ("card 04:A2:3B:4C:5D:6E:7F", "card [card]"),
        (
            "member 6f1c2a4e-0b6c-4a0f-9d7e-1f2a3b4c5d6e",
            "member 6f1c2a4e-0b6c-4a0f-9d7e-1f2a3b4c5d6e",
        ),
        (
            "at 2026-03-01T09:00:00Z on 127.0.0.1:54321",
            "at 2026-03-01T09:00:00Z on 127.0.0.1:54321",
        ),
        (
            "kiosk-1a2b3c4d5e6f in /var/lib/loyalty-kiosk",
            "kiosk-1a2b3c4d5e6f in /var/lib/loyalty-kiosk",
        ),
    ],
)
def test_scrub_masks_phones_and_card_ids_and_nothing_else(text: str, expected: str) -> None:
    assert scrub(text) == expected
