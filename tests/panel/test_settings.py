"""The panel's settings behind TLS (HUB_HTTPS=1) and on plain loopback HTTP."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# Django's defaults where the hub's settings say nothing: False, False, 0, None.
PROBE = (
    "import json, hub.settings as s; print(json.dumps([getattr(s, 'SESSION_COOKIE_SECURE',"
    " False), getattr(s, 'CSRF_COOKIE_SECURE', False), getattr(s, 'SECURE_HSTS_SECONDS', 0),"
    " getattr(s, 'SECURE_PROXY_SSL_HEADER', None)]))"
)


def settings_with(tmp_path: Path, **environ: str) -> list[object]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HUB_", "DJANGO"))}
    env |= {"HUB_DATA_DIR": str(tmp_path), "PYTHONPATH": str(ROOT), **environ}
    done = subprocess.run(
        [sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, check=True
    )
    found: list[object] = json.loads(done.stdout)
    return found


def test_behind_tls_cookies_are_secure_and_hsts_is_sent(tmp_path: Path):
    secure, csrf, hsts, proxy = settings_with(tmp_path, HUB_HTTPS="1")

    assert secure is True and csrf is True and hsts == 365 * 24 * 3600
    assert proxy == ["HTTP_X_FORWARDED_PROTO", "https"]


def test_on_plain_loopback_http_cookies_still_work(tmp_path: Path):
    assert settings_with(tmp_path) == [False, False, 0, None]
    # A proxy trusted for addresses alone does not make a request secure.
    assert settings_with(tmp_path, HUB_TRUSTED_PROXIES="127.0.0.1") == [False, False, 0, None]


def test_a_money_unit_that_is_not_toman_or_rial_is_refused(tmp_path: Path):
    with pytest.raises(subprocess.CalledProcessError) as refused:
        settings_with(tmp_path, HUB_MONEY_UNIT="dollar")

    assert "HUB_MONEY_UNIT must be toman or rial" in refused.value.stderr
