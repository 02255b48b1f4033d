"""What a pip install (systemd/install.sh) puts on the kiosk: code, catalogues, fonts, sounds."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from kiosk.appliance.assets import assets_dir

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> zipfile.ZipFile:
    source = tmp_path_factory.mktemp("source")
    shutil.copytree(
        ROOT,
        source / "project",
        ignore=shutil.ignore_patterns(
            ".venv",
            ".venv-hub",
            "var",
            "bench",
            ".git",
            "*.egg-info",
            "build",
            "__pycache__",
            ".mypy_cache",
            ".ruff_cache",
            "docs",
        ),
    )
    out = tmp_path_factory.mktemp("wheel")
    built = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(out),
            str(source / "project"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if built.returncode != 0:
        pytest.fail(f"the wheel does not build: {built.stderr[-2000:]}")
    return zipfile.ZipFile(next(out.glob("loyalty_kiosk-*.whl")))


def test_the_wheel_carries_the_fonts_sounds_catalogues_and_layouts(wheel: zipfile.ZipFile):
    names = set(wheel.namelist())
    data = "loyalty_kiosk-0.1.0.data/data/share/loyalty-kiosk/assets"
    for wanted in (
        f"{data}/fonts/Vazirmatn-Regular.ttf",
        f"{data}/fonts/Vazirmatn-Bold.ttf",
        f"{data}/fonts/OFL.txt",
        f"{data}/icons/MaterialIcons-Regular.ttf",
        f"{data}/icons/LICENSE-Apache-2.0.txt",
        f"{data}/sounds/earn.wav",
        "kiosk/config/defaults.toml",
        "kiosk/ui/kv/widgets.kv",
        "kiosk/locale/fa/LC_MESSAGES/kiosk.mo",
        "kiosk/locale/en/LC_MESSAGES/kiosk.mo",
        "sync/client.py",
        "sim/crm.py",
        "drivers/__init__.py",
    ):
        assert wanted in names, wanted
    entry_points = wheel.read("loyalty_kiosk-0.1.0.dist-info/entry_points.txt").decode()
    assert "kiosk = kiosk.cli:main" in entry_points


def test_installed_assets_are_found_under_the_prefix(tmp_path: Path, monkeypatch):
    prefix = tmp_path / "venv"
    installed = prefix / "share" / "loyalty-kiosk" / "assets"
    shutil.copytree(ROOT / "assets", installed)
    monkeypatch.setattr(
        "kiosk.appliance.assets.__file__", str(tmp_path / "site-packages/kiosk/appliance/assets.py")
    )

    assert assets_dir(environ={}, prefix=str(prefix)) == installed


def test_missing_assets_are_named(tmp_path: Path, monkeypatch):
    monkeypatch.setattr(
        "kiosk.appliance.assets.__file__", str(tmp_path / "site-packages/kiosk/appliance/assets.py")
    )

    with pytest.raises(FileNotFoundError, match="fonts and sounds are missing"):
        assets_dir(environ={}, prefix=str(tmp_path / "empty"))
