"""Where the fonts and sounds are: beside the code in a checkout, under share/ when installed.

The repository keeps them in the top-level `assets/`; a pip install (as systemd/install.sh
does into /opt/loyalty-kiosk/venv) puts them in `<prefix>/share/loyalty-kiosk/assets`
(pyproject.toml's data-files). `$KIOSK_ASSETS` overrides both.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path


def assets_dir(environ: dict[str, str] | None = None, prefix: str | None = None) -> Path:
    """The assets folder (it has fonts/ and sounds/); FileNotFoundError naming where it looked."""
    env = os.environ if environ is None else environ
    candidates = [Path(env["KIOSK_ASSETS"])] if env.get("KIOSK_ASSETS") else []
    candidates += [
        Path(__file__).resolve().parents[2] / "assets",
        Path(prefix or sys.prefix) / "share" / "loyalty-kiosk" / "assets",
    ]
    for folder in candidates:
        if (folder / "fonts").is_dir():
            return folder
    looked = ", ".join(str(c) for c in candidates)
    raise FileNotFoundError(f"the kiosk's fonts and sounds are missing (looked in {looked})")
