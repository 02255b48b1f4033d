"""`kiosk reader test` and `kiosk sim tap`, run as a technician runs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from kiosk.cli import main
from sim.serial_reader import PtySerialReaderSim


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    config = tmp_path / "kiosk.toml"
    config.write_text('[device]\nid = "kiosk-cli"\n')
    return {**os.environ, "KIOSK_CONFIG": str(config), "KIOSK_NO_ARGS": "1"}


def reader_test(env: dict[str, str], data: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "kiosk.cli", "reader", "test", "--data-dir", str(data), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def lines(proc: subprocess.Popen[str]) -> Iterator[dict[str, str]]:
    assert proc.stdout is not None
    for line in proc.stdout:
        yield json.loads(line)


def test_a_tap_reaches_a_running_kiosk_in_simulator_mode(env, tmp_path, monkeypatch):
    monkeypatch.setenv("KIOSK_CONFIG", env["KIOSK_CONFIG"])
    data = tmp_path / "data"
    proc = reader_test(env, data, "--sim", "--count", "1", "--json")
    events = lines(proc)
    try:
        assert next(e for e in events if e.get("state") == "connected")

        assert main(["sim", "tap", "1a2b3c4d", "--sim", "--data-dir", str(data)]) == 0

        card = next(e for e in events if e["event"] == "card")
    finally:
        proc.wait(timeout=30)
    assert card == {
        "reader": "sim:",
        "event": "card",
        "uid": "1A2B3C4D",
        "technology": "ISO14443-A",
    }
    assert proc.returncode == 0


def test_a_tap_with_no_kiosk_running_says_so(tmp_path, capsys):
    status = main(["sim", "tap", "1A2B3C4D", "--sim", "--data-dir", str(tmp_path)])

    assert status == 1
    assert "no kiosk in simulator mode is running" in capsys.readouterr().err


def test_reader_test_prints_cards_from_a_serial_reader(env, tmp_path):
    sim = PtySerialReaderSim(tmp_path)
    urls = f'readers.urls=["serial:{sim.path}?protocol=rdm6300"]'
    proc = reader_test(env, tmp_path / "data", "-o", urls, "--count", "1")
    try:
        assert proc.stdout is not None
        connected = proc.stdout.readline()
        while "] connected" not in connected:
            connected = proc.stdout.readline()
        sim.present("1A2B3C4D5E")
        card = proc.stdout.readline()
        while "card" not in card:
            card = proc.stdout.readline()
        proc.wait(timeout=30)
    finally:
        sim.close()
    assert connected.endswith(f"] connected reading rdm6300 at {sim.path}\n")
    assert card.strip() == f"[serial:{sim.path}?protocol=rdm6300] card     1A2B3C4D5E (EM4100)"


def test_reader_test_shows_the_hint_for_a_missing_reader(env, tmp_path):
    urls = f'readers.urls=["serial:{tmp_path}/ttyUSB7"]'
    proc = reader_test(env, tmp_path / "data", "-o", urls, "--seconds", "0.5")
    out, _ = proc.communicate(timeout=30)

    assert "no serial reader at" in out and "plugged in" in out
    assert proc.returncode == 1


def test_reader_test_without_readers_is_an_error(env, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("KIOSK_CONFIG", env["KIOSK_CONFIG"])
    assert main(["reader", "test", "--data-dir", str(tmp_path)]) == 1
    assert "no readers are configured" in capsys.readouterr().err


def test_a_tap_on_the_running_kiosk_shows_the_member(env, tmp_path, monkeypatch):
    monkeypatch.setenv("KIOSK_CONFIG", env["KIOSK_CONFIG"])
    data = tmp_path / "data"
    enroll = ["member", "enroll", "--phone", "09121234567", "--card", "C0FFEE01"]
    assert main([*enroll, "--data-dir", str(data), "--sim"]) == 0
    proc = subprocess.Popen(
        [sys.executable, "-m", "kiosk.cli", "run", "--console", "--sim", "--data-dir", str(data)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env={**env, "PYTHONUNBUFFERED": "1"},
    )
    assert proc.stdout is not None and proc.stdin is not None
    try:
        line = proc.stdout.readline()
        while "connected" not in line:
            line = proc.stdout.readline()

        assert main(["sim", "tap", "c0ffee01", "--sim", "--data-dir", str(data)]) == 0

        shown = proc.stdout.readline()
        while "points" not in shown:
            shown = proc.stdout.readline()
    finally:
        proc.stdin.close()
        proc.wait(timeout=30)
    assert shown.strip() == "+98 912 *** **67: 50 points, tier Bronze"
    assert proc.returncode == 0
