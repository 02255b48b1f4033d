"""The kiosk's Python wheels for the Pi (aarch64, CPython 3.11), downloaded on this machine
from the package index and cached: the image carries them (systemd/image/build.sh) and the
appliance test hands them to the VM, which has no network (docs/appliance-test.md).

    python3 systemd/image/wheelhouse.py CACHE_DIR     # prints the folder
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import time
import tomllib
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[2]


def log(text: str) -> None:
    print(f"[{time.strftime('%H:%M:%S', time.gmtime())}] {text}", file=sys.stderr, flush=True)


def project_requirements() -> list[str]:
    """The project's dependencies for the Pi: evdev (an sdist, built there) instead of the
    x86_64-only evdev-binary, as pyproject.toml's markers choose on aarch64."""
    data = tomllib.loads((PROJECT / "pyproject.toml").read_text())
    requirements = [r for r in data["project"]["dependencies"] if not r.startswith("evdev")]
    build = data["build-system"]["requires"]
    return [*requirements, *build]


def wheelhouse(cache: Path) -> Path:
    """aarch64 wheels for Python 3.11 from the package index, cached by the requirements."""
    requirements = project_requirements()
    key = hashlib.sha256("\n".join(requirements).encode()).hexdigest()[:12]
    folder = cache / f"wheelhouse-{key}"
    if (folder / ".done").exists():
        log(f"wheelhouse cached: {folder}")
        return folder
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check"]
    # nfcpy needs pyDes, published only as source: a pure-Python wheel is built here.
    subprocess.run([*pip, "wheel", "-q", "--no-deps", "-w", folder, "pydes==2.0.1"], check=True)
    platforms = [
        f"--platform={p}"
        for p in ("manylinux2014_aarch64", "manylinux_2_17_aarch64", "manylinux_2_28_aarch64")
    ]
    subprocess.run(
        [*pip, "download", "-q", "--dest", folder, "--find-links", folder, *platforms,
         "--python-version=3.11", "--implementation=cp", "--only-binary=:all:",
         *requirements],
        check=True,
    )  # fmt: skip
    # evdev has no aarch64 wheel: its source, built on the Pi (install.sh installs gcc).
    evdev = next(r for r in tomllib.loads((PROJECT / "pyproject.toml").read_text())["project"]
                 ["dependencies"] if r.startswith("evdev==")).split(";")[0].strip()  # fmt: skip
    subprocess.run(
        [*pip, "download", "-q", "--dest", folder, "--no-deps", "--no-binary=:all:", evdev],
        check=True,
    )
    (folder / ".done").touch()
    log(f"wheelhouse ready: {folder} ({len(list(folder.iterdir())) - 1} files)")
    return folder


if __name__ == "__main__":
    print(wheelhouse(Path(sys.argv[1])))
