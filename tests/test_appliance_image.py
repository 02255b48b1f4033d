"""The image builder and the appliance test's host side (systemd/image/), without a VM:
`make appliance-test` itself boots the image under emulation (docs/appliance-test.md)."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[1]
IMAGE = ROOT / "systemd" / "image"
BUILD_SH = IMAGE / "build.sh"


def load(name: str) -> ModuleType:
    """A module of systemd/image/ (not a package: the scripts run from their folder)."""
    if str(IMAGE) not in sys.path:
        sys.path.insert(0, str(IMAGE))
    spec = importlib.util.spec_from_file_location(name, IMAGE / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def vm_module() -> ModuleType:
    return load("vm")


def wheelhouse_module() -> ModuleType:
    return load("wheelhouse")


def bash_function_output(script: Path, function: str, *, project: Path = ROOT) -> list[str]:
    """Run one function of a bash script on its own (its definition cut out of the file)."""
    code = (
        f"set -euo pipefail; PROJECT_DIR={project}; "
        f"eval \"$(sed -n '/^{function}() {{/,/^}}/p' {script})\"; {function}"
    )
    out = subprocess.run(["bash", "-c", code], capture_output=True, text=True, check=True)
    return out.stdout.split()


def test_build_script_is_valid_bash_and_executable() -> None:
    subprocess.run(["bash", "-n", str(BUILD_SH)], check=True)
    assert BUILD_SH.stat().st_mode & 0o111


def test_the_image_holds_every_package_install_sh_installs() -> None:
    """The image has no network at first boot to fetch what install.sh would apt-get."""
    listed = bash_function_output(BUILD_SH, "installer_packages")
    code = "source <(sed -n '/^readonly APT_PACKAGES=(/,/^)/p' systemd/install.sh); "
    code += 'printf "%s\\n" "${APT_PACKAGES[@]}"'
    installer = subprocess.run(
        ["bash", "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    assert installer, "install.sh's APT_PACKAGES was not found"
    assert sorted(listed) == sorted(installer)


def test_the_image_reads_a_package_added_to_install_sh(tmp_path: Path) -> None:
    fake = tmp_path / "systemd"
    fake.mkdir()
    (fake / "install.sh").write_text(
        "readonly APT_PACKAGES=(\n    python3-venv   # the venv\n    libfoo1 libbar2\n)\n"
    )
    assert bash_function_output(BUILD_SH, "installer_packages", project=tmp_path) == [
        "python3-venv",
        "libfoo1",
        "libbar2",
    ]


def test_the_appliance_test_starts_and_says_how_it_is_run() -> None:
    """The script and the modules beside it import together (it runs from its folder)."""
    done = subprocess.run(
        [sys.executable, str(IMAGE / "appliance_test.py"), "--help"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "--keep" in done.stdout


def test_the_wheelhouse_builds_evdev_from_source_on_arm() -> None:
    """evdev-binary is an x86_64 wheel: on the Pi pyproject.toml's markers pick evdev."""
    requirements = wheelhouse_module().project_requirements()
    assert not any(r.startswith("evdev") for r in requirements)
    assert any(r.startswith("kivy==") for r in requirements)
    assert any(r.startswith("setuptools") for r in requirements)


def test_a_screendump_becomes_a_png_and_tells_blank_from_drawn(tmp_path: Path) -> None:
    module = vm_module()
    width, height = 40, 20
    blank = bytes(width * height * 3)
    drawn = b"".join(
        bytes((x * 6 % 256, y * 12 % 256, x * y % 256)) for y in range(height) for x in range(width)
    )
    for name, rgb in (("blank", blank), ("drawn", drawn)):
        (tmp_path / f"{name}.ppm").write_bytes(b"P6\n# QEMU\n%d %d\n255\n" % (width, height) + rgb)
    first = module.Picture.read_ppm(tmp_path / "blank.ppm")
    second = module.Picture.read_ppm(tmp_path / "drawn.ppm")
    assert first.colours() == 1
    assert second.colours() > 8
    assert second.differs(first) > 0.5
    assert first.differs(first) == 0
    second.write_png(tmp_path / "drawn.png")
    png = (tmp_path / "drawn.png").read_bytes()
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    assert int.from_bytes(png[16:20], "big") == width


@pytest.mark.parametrize("ppm", [b"P5\n2 2\n255\n....", b"P6\n2 2\n65535\n" + bytes(24)])
def test_a_screendump_in_another_format_is_refused(tmp_path: Path, ppm: bytes) -> None:
    (tmp_path / "x.ppm").write_bytes(ppm)
    with pytest.raises(ValueError, match="not an 8-bit P6"):
        vm_module().Picture.read_ppm(tmp_path / "x.ppm")


def fstab() -> dict[str, list[str]]:
    rows = (IMAGE / "rootfs" / "etc" / "fstab").read_text().splitlines()
    return {f[1]: f for f in (r.split() for r in rows if r.strip() and not r.startswith("#"))}


def test_the_boot_partition_waits_for_udev_as_long_as_systemd_does() -> None:
    """Found by make appliance-test: with x-systemd.device-timeout=10s the boot partition
    was given up before udev's first pass ended, and the technician's key with it."""
    boot = fstab()["/boot/firmware"]
    assert boot[0] == "LABEL=RASPIFIRM"
    assert "nofail" in boot[3].split(",")
    assert "x-systemd.device-timeout" not in boot[3]
    assert fstab()["/"][0] == "LABEL=RASPIROOT"


def test_the_initramfs_finds_the_root_on_a_pi_and_in_qemu() -> None:
    hook = IMAGE / "rootfs" / "etc" / "initramfs-tools" / "hooks" / "loyalty-kiosk-modules"
    text = hook.read_text()
    assert hook.stat().st_mode & 0o111
    for module in ("kernel/drivers/mmc/host", "gpio-regulator", "virtio_blk", "ext4", "uas"):
        assert module in text
    conf = IMAGE / "rootfs" / "etc" / "initramfs-tools" / "conf.d" / "loyalty-kiosk.conf"
    assert "MODULES=list" in conf.read_text().splitlines()


def test_the_image_puts_no_cma_on_a_pi_4s_command_line() -> None:
    """raspi-firmware's hook adds cma=64M unless the machine it runs on is a Pi 4."""
    assert "CMA=0" in (IMAGE / "raspi-firmware.default").read_text().splitlines()
