"""The appliance's install: systemd units, udev rules, module blacklist, config, install.sh."""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from kiosk.config import load_config
from tests.conftest import NO_SYSTEM_CONFIG

ROOT = Path(__file__).resolve().parents[1]
SYSTEMD = ROOT / "systemd"
INSTALL_SH = SYSTEMD / "install.sh"
KIOSK = "/opt/loyalty-kiosk/venv/bin/kiosk"
APP = "loyalty-kiosk.service"
SYNC = "loyalty-kiosk-sync.service"
BACKUP = "loyalty-kiosk-backup.service"
TIMER = "loyalty-kiosk-backup.timer"
UNITS = (APP, SYNC, BACKUP, TIMER)
SERVICES = (APP, SYNC, BACKUP)
# A Raspberry Pi OS Bookworm cmdline.txt as the Imager leaves it.
CMDLINE = (
    "console=serial0,115200 console=tty1 root=PARTUUID=0a1b2c3d-02 rootfstype=ext4 "
    "fsck.repair=yes rootwait"
)
# Where each file lands below DESTDIR, with its mode and where it comes from.
INSTALLED_FILES = {
    **{f"etc/systemd/system/{unit}": (0o644, SYSTEMD / unit) for unit in UNITS},
    "etc/udev/rules.d/60-loyalty-kiosk-readers.rules": (
        0o644,
        SYSTEMD / "udev" / "60-loyalty-kiosk-readers.rules",
    ),
    "etc/modprobe.d/loyalty-kiosk-nfc-blacklist.conf": (
        0o644,
        SYSTEMD / "modprobe" / "loyalty-kiosk-nfc-blacklist.conf",
    ),
    "etc/loyalty-kiosk/kiosk.toml": (0o640, SYSTEMD / "kiosk.toml.example"),
}
INSTALLED_DIRS = {
    "etc/loyalty-kiosk": 0o750,
    "var/lib/loyalty-kiosk": 0o700,
    "var/lib/loyalty-kiosk/backups": 0o700,
    "opt/loyalty-kiosk": 0o755,
}

Directives = dict[str, dict[str, list[str]]]
Snapshot = dict[str, tuple[int, int, int, bytes | None]]


def directives(unit: str) -> Directives:
    """A unit file as {section: {key: [values in order]}}; comments left out."""
    sections: Directives = {}
    current: dict[str, list[str]] = {}
    for raw in (SYSTEMD / unit).read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            current = sections.setdefault(line.strip("[]"), {})
            continue
        key, _, value = line.partition("=")
        current.setdefault(key.strip(), []).append(value.strip())
    return sections


def one(unit: str, section: str, key: str) -> str:
    values = directives(unit)[section].get(key, [])
    assert len(values) == 1, f"{unit}: [{section}] {key}= is set {len(values)} times"
    return values[0]


# --- systemd-analyze verify -------------------------------------------------------------


def stage_units(directory: Path) -> Path:
    """Copies of the units in `directory`, their ExecStart= on a stub that exists here.

    The venv's `kiosk` is not installed on a development machine, and verify refuses a
    unit whose command is missing; everything else in the units is verified as shipped.
    """
    directory.mkdir(parents=True, exist_ok=True)
    stub = directory / "kiosk"
    stub.write_text("#!/bin/sh\nexit 0\n", encoding="utf-8")
    stub.chmod(0o755)
    for unit in UNITS:
        text = (SYSTEMD / unit).read_text(encoding="utf-8")
        (directory / unit).write_text(text.replace(KIOSK, str(stub)), encoding="utf-8")
    return directory


def verify_problems(unit_file: Path) -> list[str]:
    """What `systemd-analyze verify` says about this unit (not about the system's units)."""
    result = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", "--recursive-errors=no", str(unit_file)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "SYSTEMD_LOG_COLOR": "0", "SYSTEMD_PAGER": ""},
    )
    # Our unit's warnings name its file or its unit name; the host's own units are not
    # ours to judge. With --recursive-errors=no the exit status is about this unit only.
    problems = [
        line
        for line in (result.stdout + result.stderr).splitlines()
        if unit_file.stem in line or unit_file.name in line
    ]
    if result.returncode != 0:
        problems.append(f"exit status {result.returncode}: {result.stderr.strip()}")
    return problems


@pytest.fixture(scope="module")
def analyzer(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Skip unless systemd-analyze is here and verifies a trivial unit cleanly."""
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze is not installed (Debian: systemd)")
    probe = tmp_path_factory.mktemp("probe")
    unit = probe / "probe.service"
    unit.write_text("[Service]\nType=oneshot\nExecStart=/bin/true\n", encoding="utf-8")
    try:
        problems = verify_problems(unit)
    except OSError as exc:
        pytest.skip(f"systemd-analyze cannot run here: {exc}")
    if problems:
        pytest.skip("systemd-analyze cannot verify units here: " + "; ".join(problems))


@pytest.mark.parametrize("unit", UNITS)
def test_every_unit_passes_systemd_analyze_verify(
    unit: str, analyzer: None, tmp_path: Path
) -> None:
    staged = stage_units(tmp_path / "units")

    problems = verify_problems(staged / unit)

    assert problems == []


@pytest.mark.parametrize(
    ("unit", "good", "broken"),
    [
        (APP, "NoNewPrivileges=yes", "NoNewPrivilege=yes"),
        (APP, "WatchdogSec=30", "WatchdogSec=thirty"),
        (SYNC, "ProtectSystem=strict", "ProtectSystem=strikt"),
        (BACKUP, "[Service]", "[Servce]"),
        (TIMER, "OnCalendar=*-*-* 03:30:00", "OnCalendar=*-*-* 25:30:00"),
    ],
)
def test_verify_catches_a_misspelled_directive(
    unit: str, good: str, broken: str, analyzer: None, tmp_path: Path
) -> None:
    staged = stage_units(tmp_path / "units")
    text = (staged / unit).read_text(encoding="utf-8")
    assert good in text
    (staged / unit).write_text(text.replace(good, broken), encoding="utf-8")

    problems = verify_problems(staged / unit)

    assert problems


# --- what the units say -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("unit", "section", "key", "value"),
    [
        (APP, "Service", "ExecStart", f"{KIOSK} run"),
        (APP, "Service", "Type", "notify"),
        (APP, "Service", "NotifyAccess", "main"),
        (APP, "Service", "WatchdogSec", "30"),
        (APP, "Service", "TimeoutStartSec", "5min"),  # a new card's first start is slow
        (APP, "Service", "Restart", "always"),
        (APP, "Service", "RestartSec", "2"),
        (APP, "Unit", "StartLimitIntervalSec", "0"),
        (APP, "Install", "WantedBy", "multi-user.target"),
        (SYNC, "Service", "ExecStart", f"{KIOSK} sync"),
        (SYNC, "Service", "Type", "notify"),
        (SYNC, "Service", "NotifyAccess", "main"),
        (SYNC, "Service", "WatchdogSec", "120"),
        (SYNC, "Service", "Restart", "always"),
        (SYNC, "Install", "WantedBy", "multi-user.target"),
        (BACKUP, "Service", "ExecStart", f"{KIOSK} backup --keep 14"),
        (BACKUP, "Service", "Type", "oneshot"),
        (TIMER, "Timer", "OnCalendar", "*-*-* 03:30:00"),
        (TIMER, "Timer", "Persistent", "true"),
        (TIMER, "Install", "WantedBy", "timers.target"),
    ],
)
def test_unit_setting(unit: str, section: str, key: str, value: str) -> None:
    assert one(unit, section, key) == value


@pytest.mark.parametrize("unit", SERVICES)
@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("User", "loyalty-kiosk"),
        ("Group", "loyalty-kiosk"),
        ("NoNewPrivileges", "yes"),
        ("ProtectSystem", "strict"),
        ("ProtectHome", "yes"),
        ("PrivateTmp", "yes"),
        ("ProtectKernelTunables", "yes"),
        ("ProtectControlGroups", "yes"),
        ("RestrictSUIDSGID", "yes"),
        ("LockPersonality", "yes"),
        ("UMask", "0077"),
        ("StateDirectory", "loyalty-kiosk"),
        # systemd sets these modes at every start: all three units and install.sh agree.
        ("StateDirectoryMode", "0700"),
        ("ConfigurationDirectory", "loyalty-kiosk"),
        ("ConfigurationDirectoryMode", "0750"),
    ],
)
def test_every_service_is_hardened(unit: str, key: str, value: str) -> None:
    assert one(unit, "Service", key) == value


def test_the_app_keeps_its_devices_and_draws_on_kms() -> None:
    service = directives(APP)["Service"]

    environment = " ".join(service["Environment"]).split()
    groups = one(APP, "Service", "SupplementaryGroups").split()

    # PrivateDevices= or a device policy would hide /dev/dri, /dev/input and the readers;
    # ProtectClock= implies DeviceAllow=char-rtc, which closes the others.
    for key in ("PrivateDevices", "DevicePolicy", "DeviceAllow", "ProtectClock"):
        assert key not in service
    assert {"KIVY_WINDOW=sdl2", "SDL_VIDEODRIVER=kmsdrm"} <= set(environment)
    assert {"video", "render", "input", "dialout", "plugdev"} <= set(groups)


def test_sync_starts_without_the_network() -> None:
    unit = directives(SYNC)["Unit"]

    waits = " ".join(unit.get("Wants", []) + unit.get("Requires", []) + unit.get("After", []))

    assert "network-online.target" not in waits
    assert "Requires" not in unit


def test_backup_timer_spreads_and_catches_up() -> None:
    assert one(TIMER, "Timer", "RandomizedDelaySec")
    assert "Unit" not in directives(TIMER)["Timer"]  # the service of the same name


# --- udev rules and module blacklist ----------------------------------------------------

RULES = SYSTEMD / "udev" / "60-loyalty-kiosk-readers.rules"
# One udev match or assignment: KEY, optional {attribute}, operator, quoted value.
RULE_TOKEN = re.compile(r'^[A-Z_]+(\{[^}]+\})?(==|!=|\+=|-=|:=|=)"[^"]*"$')


def rule_lines() -> list[str]:
    lines = RULES.read_text(encoding="utf-8").splitlines()
    return [line for line in lines if line.strip() and not line.lstrip().startswith("#")]


def test_every_udev_rule_is_well_formed() -> None:
    for line in rule_lines():
        for token in line.split(", "):
            assert RULE_TOKEN.match(token), f"{token!r} in {line!r}"


@pytest.mark.parametrize(
    ("vendor", "product", "group"),
    [
        ("072f", "2200", "plugdev"),  # ACR122U
        ("04e6", "5591", "plugdev"),  # SCL3711
        ("04cc", "2533", "plugdev"),  # PN533
        ("054c", "06c1", "plugdev"),  # RC-S380/S
        ("054c", "06c3", "plugdev"),  # RC-S380/P
        ("1a86", "7523", "dialout"),  # CH340
        ("10c4", "ea60", "dialout"),  # CP210x
        ("0403", "6001", "dialout"),  # FTDI FT232R
        ("0403", "6015", "dialout"),  # FTDI FT230X
    ],
)
def test_udev_rules_give_each_reader_to_its_group(vendor: str, product: str, group: str) -> None:
    matching = [
        line
        for line in rule_lines()
        if f'{{idVendor}}=="{vendor}"' in line and f'{{idProduct}}=="{product}"' in line
    ]

    assert len(matching) == 1
    assert f'GROUP="{group}"' in matching[0]
    assert 'MODE="0660"' in matching[0]


def test_kernel_nfc_drivers_are_blacklisted() -> None:
    conf = SYSTEMD / "modprobe" / "loyalty-kiosk-nfc-blacklist.conf"
    lines = conf.read_text(encoding="utf-8").splitlines()

    blacklisted = {line.split()[1] for line in lines if line.startswith("blacklist ")}

    assert {"pn533_usb", "pn533", "nfc"} <= blacklisted
    assert all(line.startswith(("#", "blacklist ")) for line in lines if line.strip())


# --- config skeleton --------------------------------------------------------------------


def test_config_skeleton_is_accepted_by_the_config_loader() -> None:
    config = load_config(SYSTEMD / "kiosk.toml.example", environ={}, system_file=NO_SYSTEM_CONFIG)

    assert config.device.simulated is False
    assert config.paths.data_dir == "/var/lib/loyalty-kiosk"
    assert config.crm.url == ""
    assert config.crm.secret_file == ""  # the data directory's crm-secret
    assert config.readers.urls == ("nfc:usb",)
    assert config.ui.fullscreen is True
    assert config.ui.show_cursor is False


# --- install.sh -------------------------------------------------------------------------


def run_install(destdir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """install.sh with DESTDIR set: it writes below destdir and skips the real system."""
    env = {**os.environ, "DESTDIR": str(destdir), "LC_ALL": "C"}
    return subprocess.run(
        ["bash", str(INSTALL_SH), *args],
        cwd=destdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def installed(destdir: Path, *args: str) -> str:
    result = run_install(destdir, *args)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def snapshot(root: Path) -> Snapshot:
    """Every path below root with its mode, mtime, ctime and content (None for a folder)."""
    entries: Snapshot = {}
    for path in [root, *sorted(root.rglob("*"))]:
        info = path.lstat()
        content = path.read_bytes() if path.is_file() else None
        key = str(path.relative_to(root))
        entries[key] = (stat.S_IMODE(info.st_mode), info.st_mtime_ns, info.st_ctime_ns, content)
    return entries


def fake_pi(destdir: Path, cmdline: str = CMDLINE) -> Path:
    """A boot partition with Raspberry Pi OS's cmdline.txt below destdir."""
    path = destdir / "boot" / "firmware" / "cmdline.txt"
    path.parent.mkdir(parents=True)
    path.write_text(cmdline + "\n", encoding="utf-8")
    return path


def test_install_script_is_valid_bash_and_executable() -> None:
    result = subprocess.run(
        ["bash", "-n", str(INSTALL_SH)], capture_output=True, text=True, check=False
    )

    assert result.returncode == 0, result.stderr
    assert INSTALL_SH.stat().st_mode & 0o111, "sudo systemd/install.sh needs the x bit"


def test_install_script_passes_shellcheck() -> None:
    if shutil.which("shellcheck") is None:
        pytest.skip("shellcheck is not installed (Debian: apt-get install shellcheck)")

    result = subprocess.run(
        ["shellcheck", "--shell=bash", str(INSTALL_SH)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode == 0, result.stdout + result.stderr


def test_help_says_how_to_use_it(tmp_path: Path) -> None:
    result = run_install(tmp_path, "--help")

    assert result.returncode == 0
    for option in ("--rotate", "--no-enable", "--dry-run", "DESTDIR"):
        assert option in result.stdout
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("args", [("--rotate", "45"), ("--rotate",), ("--frobnicate",)])
def test_wrong_usage_exits_2_and_writes_nothing(tmp_path: Path, args: tuple[str, ...]) -> None:
    result = run_install(tmp_path, *args)

    assert result.returncode == 2
    assert "Usage:" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_dry_run_prints_every_action_and_writes_nothing(tmp_path: Path) -> None:
    out = installed(tmp_path, "--dry-run", "--rotate", "180")

    assert list(tmp_path.iterdir()) == []
    for planned in [*(f"/{path}" for path in INSTALLED_FILES), *INSTALLED_DIRS]:
        assert planned in out
    for system_step in ("useradd", "apt-get install", "pip install", "systemctl enable --now"):
        assert system_step in out
    assert "skipped" in out
    assert "dry run: nothing was changed" in out


def test_dry_run_leaves_an_existing_boot_partition_alone(tmp_path: Path) -> None:
    fake_pi(tmp_path)
    before = snapshot(tmp_path)

    out = installed(tmp_path, "--dry-run", "--rotate", "180")

    assert snapshot(tmp_path) == before
    assert f"{CMDLINE} consoleblank=0 video=DSI-1:800x480@60,rotate=180" in out


def test_install_puts_every_file_in_place_with_its_mode(tmp_path: Path) -> None:
    fake_pi(tmp_path)

    installed(tmp_path)

    for relative, (mode, source) in INSTALLED_FILES.items():
        path = tmp_path / relative
        assert stat.S_IMODE(path.stat().st_mode) == mode, relative
        assert path.read_bytes() == source.read_bytes(), relative
    for relative, mode in INSTALLED_DIRS.items():
        path = tmp_path / relative
        assert path.is_dir(), relative
        assert stat.S_IMODE(path.stat().st_mode) == mode, relative
    # The secret is `kiosk provision`'s; the venv needs pip, skipped below DESTDIR.
    assert not (tmp_path / "var/lib/loyalty-kiosk/crm-secret").exists()
    assert not (tmp_path / "opt/loyalty-kiosk/venv").exists()


def test_installed_config_is_accepted_by_the_config_loader(tmp_path: Path) -> None:
    installed(tmp_path)

    config = load_config(
        tmp_path / "etc/loyalty-kiosk/kiosk.toml", environ={}, system_file=NO_SYSTEM_CONFIG
    )

    assert config.ui.fullscreen is True


def test_install_turns_screen_blanking_off_and_rotates_the_display(tmp_path: Path) -> None:
    cmdline = fake_pi(tmp_path)

    installed(tmp_path, "--rotate", "180")

    assert cmdline.read_text(encoding="utf-8") == (
        f"{CMDLINE} consoleblank=0 video=DSI-1:800x480@60,rotate=180\n"
    )
    backup = cmdline.with_name("cmdline.txt.before-loyalty-kiosk")
    assert backup.read_text(encoding="utf-8") == CMDLINE + "\n"


def test_install_edits_existing_settings_in_place_and_once(tmp_path: Path) -> None:
    cmdline = fake_pi(tmp_path, f"consoleblank=600 {CMDLINE} consoleblank=300 quiet")

    installed(tmp_path, "--rotate", "180")
    installed(tmp_path, "--rotate", "90")
    installed(tmp_path)

    assert cmdline.read_text(encoding="utf-8") == (
        f"consoleblank=0 {CMDLINE} quiet video=DSI-1:800x480@60,rotate=90\n"
    )


def test_install_without_a_boot_partition_says_so(tmp_path: Path) -> None:
    out = installed(tmp_path)

    assert "no cmdline.txt" in out
    assert not (tmp_path / "boot").exists()


def test_second_install_changes_nothing(tmp_path: Path) -> None:
    fake_pi(tmp_path)
    installed(tmp_path, "--rotate", "180")
    # Back-date everything: a rewrite, even of the same bytes, would move an mtime again.
    for path in [tmp_path, *tmp_path.rglob("*")]:
        os.utime(path, ns=(1_000_000_000_000_000_000, 1_000_000_000_000_000_000))
    before = snapshot(tmp_path)

    out = installed(tmp_path, "--rotate", "180")

    assert snapshot(tmp_path) == before
    assert "0 changed" in out


def test_install_never_overwrites_kiosk_toml(tmp_path: Path) -> None:
    installed(tmp_path)
    config = tmp_path / "etc/loyalty-kiosk/kiosk.toml"
    edited = config.read_text(encoding="utf-8").replace('"Shop name"', '"Corner bakery"')
    config.write_text(edited, encoding="utf-8")

    out = installed(tmp_path)

    assert config.read_text(encoding="utf-8") == edited
    assert "never overwritten" in out


def test_install_leaves_the_device_secret_alone(tmp_path: Path) -> None:
    secret = tmp_path / "var/lib/loyalty-kiosk/crm-secret"
    secret.parent.mkdir(parents=True)
    secret.write_text("not-a-real-secret\n", encoding="utf-8")
    secret.chmod(0o600)

    out = installed(tmp_path)

    assert secret.read_text(encoding="utf-8") == "not-a-real-secret\n"
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600
    assert "provisioned" in out


def debian_raspi_firmware(destdir: Path) -> Path:
    """Debian's raspi-firmware below destdir: it rewrites cmdline.txt at each kernel update
    from /etc/default/raspi-firmware and appends /etc/default/raspi-extra-cmdline."""
    default = destdir / "etc" / "default"
    default.mkdir(parents=True)
    (default / "raspi-firmware").write_text("ROOTPART=LABEL=RASPIROOT\n", encoding="utf-8")
    fake_pi(destdir, "console=tty0 root=LABEL=RASPIROOT rw fsck.repair=yes rootwait")
    return default / "raspi-extra-cmdline"


def test_install_keeps_its_settings_through_debians_kernel_updates(tmp_path: Path) -> None:
    """Found by `make appliance-test`'s image (docs/appliance-test.md): on Debian's
    raspi-firmware consoleblank=0 in cmdline.txt alone lasted until the next kernel update."""
    extra = debian_raspi_firmware(tmp_path)

    installed(tmp_path, "--rotate", "180")

    assert extra.read_text(encoding="utf-8") == (
        "consoleblank=0 video=DSI-1:800x480@60,rotate=180\n"
    )


def test_install_edits_debians_extra_cmdline_once_and_keeps_the_rest(tmp_path: Path) -> None:
    extra = debian_raspi_firmware(tmp_path)
    extra.write_text("quiet consoleblank=600 splash\n# a comment line\n", encoding="utf-8")

    installed(tmp_path, "--rotate", "180")
    installed(tmp_path, "--rotate", "90")
    out = installed(tmp_path)

    assert extra.read_text(encoding="utf-8") == (
        "quiet consoleblank=0 splash video=DSI-1:800x480@60,rotate=90\n# a comment line\n"
    )
    assert "0 changed" in out


def test_raspberry_pi_os_gets_no_extra_cmdline(tmp_path: Path) -> None:
    fake_pi(tmp_path)

    installed(tmp_path)

    assert not (tmp_path / "etc" / "default").exists()


def test_a_first_install_starts_the_services_once(tmp_path: Path) -> None:
    """Found by make appliance-test: a first install enabled and started the app, then
    restarted it as if it ran an old version (a second start, 75 s under emulation)."""
    out = installed(tmp_path)

    assert "enable and start loyalty-kiosk.service" in out
    assert "restart what runs an old version" not in out
