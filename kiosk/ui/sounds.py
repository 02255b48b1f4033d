"""Short sounds: a chime for points earned, a low tone for a refused tap."""

from __future__ import annotations

import logging
from collections import deque
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

NAMES = ("earn", "error")


class Sounds:
    """Plays the WAV files in `folder`; a kiosk without audio stays silent, it never fails."""

    def __init__(self, folder: Path, *, enabled: bool = True) -> None:
        self.folder = folder
        self.enabled = enabled
        self.played: deque[str] = deque(maxlen=20)
        self._loaded: dict[str, Any] = {}

    def play(self, name: str) -> None:
        """Play sound `name` (one of NAMES) if sounds are on and audio works."""
        if name not in NAMES:
            raise ValueError(f"unknown sound {name!r}")
        self.played.append(name)
        if not self.enabled:
            return
        sound = self._load(name)
        if sound is not None:
            sound.stop()
            sound.play()

    def _load(self, name: str) -> Any:
        if name not in self._loaded:
            from kivy.core.audio import SoundLoader

            path = self.folder / f"{name}.wav"
            sound = SoundLoader.load(str(path))
            if sound is None:
                log.warning("cannot play %s: no audio output or unreadable file", path.name)
            self._loaded[name] = sound
        return self._loaded[name]
