"""Two distributions: the Raspberry Pi never installs the hub, the hub never needs the kiosk.

The kiosk's wheel (systemd/install.sh installs it) carries no `hub` and depends on no
Django, psycopg or gunicorn; the hub's wheel carries every module of `hub/` and, of the
kiosk's code, the protocol's signing and the owner's signatures only (`sync/signing.py`,
`sync/owner_key.py`, built from the same files).
"""

from __future__ import annotations

import ast
import re
import shutil
import stat
import subprocess
import sys
import tomllib
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HUB_ONLY = re.compile(r"^(django|psycopg|psycopg-pool|psycopg-binary|gunicorn)\b", re.IGNORECASE)
SHARED = ("sync/signing.py", "sync/owner_key.py")  # the kiosk's code the hub's wheel carries
# Without build isolation: no download at test time (the venv's setuptools builds it).
_PIP_WHEEL = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q"]
_PATTERNS = shutil.ignore_patterns(
    ".venv*", "var", ".git", "*.egg-info", "build", "__pycache__", ".mypy_cache", ".ruff_cache"
)


def _ignored(folder: str, names: list[str]) -> set[str]:
    """What a clean checkout lacks: venvs, caches, build folders, the running services'
    data (var/, bench/.cache/: a bench PostgreSQL cluster lives there), and any socket or
    pipe (a running PostgreSQL's socket, which copytree cannot copy)."""
    skipped = set(_PATTERNS(folder, names))
    here = Path(folder)
    if here == ROOT / "bench":
        skipped.add(".cache")
    for name in names:
        try:
            mode = (here / name).lstat().st_mode
        except OSError:  # gone while we looked (a socket of a server that stopped)
            skipped.add(name)
            continue
        if not (stat.S_ISDIR(mode) or stat.S_ISREG(mode) or stat.S_ISLNK(mode)):
            skipped.add(name)
    return skipped


def build(project: Path, out: Path) -> zipfile.ZipFile:
    built = subprocess.run(
        [*_PIP_WHEEL, "-w", str(out), str(project)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if built.returncode != 0:
        pytest.fail(f"the wheel does not build: {built.stderr[-2000:]}")
    return zipfile.ZipFile(next(out.glob("*.whl")))


def requirements(wheel: zipfile.ZipFile) -> list[str]:
    (metadata,) = [n for n in wheel.namelist() if n.endswith(".dist-info/METADATA")]
    return Parser().parsestr(wheel.read(metadata).decode()).get_all("Requires-Dist") or []


@pytest.fixture(scope="module")
def copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project as a clean checkout would have it (no venvs, caches or build folders)."""
    project = tmp_path_factory.mktemp("source") / "project"
    shutil.copytree(ROOT, project, ignore=_ignored)
    return project


@pytest.fixture(scope="module")
def hub_wheel(copy: Path, tmp_path_factory: pytest.TempPathFactory) -> zipfile.ZipFile:
    return build(copy / "hub", tmp_path_factory.mktemp("hub-wheel"))


def test_the_kiosks_dependencies_and_packages_name_no_hub():
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    project = pyproject["project"]
    every = [*project["dependencies"]]
    for extra in project.get("optional-dependencies", {}).values():
        every += extra
    packages = pyproject["tool"]["setuptools"]["packages"]["find"]["include"]

    assert [r for r in every if HUB_ONLY.match(r)] == []
    assert [p for p in packages if p.startswith("hub")] == []


def test_the_kiosks_wheel_carries_no_hub(copy: Path, tmp_path_factory: pytest.TempPathFactory):
    wheel = build(copy, tmp_path_factory.mktemp("kiosk-wheel"))

    assert [n for n in wheel.namelist() if n.startswith("hub/")] == []
    assert [r for r in requirements(wheel) if HUB_ONLY.match(r)] == []


def test_the_hubs_wheel_carries_the_hub_and_only_the_signing_modules_of_the_kiosk(hub_wheel):
    names = set(hub_wheel.namelist())
    modules = {
        str(path.relative_to(ROOT))
        for path in (ROOT / "hub").rglob("*.py")
        if "build" not in path.parts
    }

    assert modules <= names, f"missing from hub/pyproject.toml's packages: {modules - names}"
    assert {n for n in names if n.startswith("sync/")} == {"sync/__init__.py", *SHARED}
    assert not any(n.startswith(("kiosk/", "drivers/", "sim/")) for n in names)
    for shared in SHARED:
        assert hub_wheel.read(shared) == (ROOT / shared).read_bytes()
    assert "hub/py.typed" in names


def test_the_hubs_wheel_depends_on_the_server_libraries_it_pins_only(hub_wheel):
    needed = {
        re.split(r"[=<>\[ ;]", r)[0].lower() for r in requirements(hub_wheel) if "extra" not in r
    }

    # The panel's: two-factor, its static files, Jalali dates, phone numbers in the member
    # search (hub/pyproject.toml says why).
    panel = {"django-otp", "whitenoise", "jdatetime", "phonenumbers"}
    # Webhooks to the chain's CRM, and SMS through Kavenegar's client (issue 17).
    messages = {"requests", "kavenegar"}
    assert needed == {
        "django",
        "psycopg",
        "psycopg-pool",
        "gunicorn",
        "cryptography",
        *panel,
        *messages,
    }
    entry_points = next(n for n in hub_wheel.namelist() if n.endswith("entry_points.txt"))
    assert "hub = hub.cli:main" in hub_wheel.read(entry_points).decode()


@pytest.mark.parametrize(
    ("shared", "allowed"), [("sync/signing.py", set()), ("sync/owner_key.py", {"cryptography"})]
)
def test_the_modules_the_hub_shares_need_only_what_the_hubs_wheel_depends_on(
    shared: str, allowed: set[str]
):
    # The hub's wheel carries these alone of `sync`: an import of anything else (the
    # kiosk's code, a library the hub does not depend on) would fail on a hub server.
    tree = ast.parse((ROOT / shared).read_text())
    imported = {
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    }
    imported |= {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}

    top = {name.split(".")[0] for name in imported} - {"__future__"}
    assert top <= sys.stdlib_module_names | allowed
