"""`kiosk run --sim` (what `make run` does) opens the touch app and takes simulated taps."""

from __future__ import annotations

import os
import queue
import subprocess
import sys
import threading
from pathlib import Path

from kiosk.cli import main

WAIT = 60.0  # a safety limit on each expected line, never a pace


def test_kiosk_run_opens_the_app_and_a_tap_reaches_it(can_open_window, tmp_path: Path, monkeypatch):
    config = tmp_path / "kiosk.toml"
    config.write_text('[device]\nid = "kiosk-run"\n[security]\npin_scrypt_n = 1024\n')
    env = {
        **os.environ,
        "KIOSK_CONFIG": str(config),
        "SDL_VIDEODRIVER": os.environ.get("SDL_VIDEODRIVER", "offscreen"),
        "SDL_AUDIODRIVER": "dummy",
        "KIVY_HOME": str(tmp_path / "kivy"),
    }
    monkeypatch.setenv("KIOSK_CONFIG", str(config))
    data = tmp_path / "data"
    proc = subprocess.Popen(
        [sys.executable, "-m", "kiosk.cli", "run", "--sim", "--data-dir", str(data)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    lines: queue.Queue[str] = queue.Queue()
    assert proc.stderr is not None
    stderr = proc.stderr

    def pump() -> None:
        for line in stderr:
            lines.put(line)

    threading.Thread(target=pump, daemon=True).start()
    seen: list[str] = []

    def wait_for(text: str) -> None:
        while True:
            try:
                line = lines.get(timeout=WAIT)
            except queue.Empty:
                raise AssertionError(f"no {text!r} in the log: {seen[-20:]}") from None
            seen.append(line)
            if text in line:
                return

    try:
        wait_for("screen: attract")
        wait_for("] connected")
        assert main(["sim", "tap", "1A2B3C4D", "--sim", "--data-dir", str(data)]) == 0
        wait_for("screen: phone")  # an unknown card: enter the number to join
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    assert not any("1A2B3C4D" in line for line in seen), "card ids never reach the log"
