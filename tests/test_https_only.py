"""Members' data never travels to the CRM in clear: https, or plain http to this machine only.

Someone on the shop's network reads whatever a kiosk sends over plain http. Before issue 16
only provisioning refused such an address; `-o crm.url=http://10.0.0.5:8470` (or the same
in any config file) was taken, and the kiosk synced its members in clear. Now the
configuration, `kiosk sync enroll` and provisioning ask one rule
(`kiosk/config/crm_url.py`).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kiosk.cli import main
from kiosk.config import ConfigError
from kiosk.config.crm_url import crm_url_problem
from tests.conftest import make_config

ON_THE_NETWORK = [
    "http://10.0.0.5:8470",
    "http://crm.example",
    "http://192.168.1.20/",
    "http://[fe80::1]:8470",
    "http://127.0.0.1.nip.io",  # a name that only looks like loopback
    "http://localhost.example.com",
    "HTTP://10.0.0.5",
]
ACCEPTED = [
    "https://crm.example",
    "https://10.0.0.5:8470",
    "http://127.0.0.1:8470",
    "http://127.20.30.40",
    "http://localhost:8470",
    "http://LOCALHOST",
    "http://[::1]:8470",
]


def kiosk(*argv: str) -> tuple[int, dict[str, str]]:
    """Run `kiosk ... --json`; the exit status and its error answer (or {})."""
    import contextlib
    import io

    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        status = main([*argv, "--json"])
    text = err.getvalue().strip()
    return status, json.loads(text.splitlines()[-1]) if text else {}


@pytest.mark.parametrize("url", ON_THE_NETWORK)
def test_plain_http_to_a_host_on_the_network_is_a_config_problem(url: str):
    with pytest.raises(ConfigError) as caught:
        make_config(f'crm.url="{url}"')

    (problem,) = caught.value.problems
    assert problem.key == "crm.url" and "https://" in problem.message
    assert "in clear" in problem.message and "loopback" in problem.message


@pytest.mark.parametrize("url", ACCEPTED)
def test_https_anywhere_and_plain_http_on_loopback_are_accepted(url: str):
    assert make_config(f'crm.url="{url}"').crm.url == url


@pytest.mark.parametrize(
    "url", ["ftp://crm.example", "https://", "crm.example", "https://crm.example:port"]
)
def test_an_address_that_is_not_an_https_url_is_refused(url: str):
    with pytest.raises(ConfigError) as caught:
        make_config(f'crm.url="{url}"')

    assert [p.key for p in caught.value.problems] == ["crm.url"]


def test_a_user_and_password_in_the_address_are_refused_and_not_repeated():
    problem = crm_url_problem("https://admin:hunter2@crm.example")

    assert problem is not None and "hunter2" not in problem


def test_sync_enroll_with_o_crm_url_http_on_the_network_is_refused_and_writes_nothing(
    tmp_path: Path,
):
    data = tmp_path / "data"

    status, error = kiosk(
        "sync", "enroll", "K7Q2-M9XA", "-o", "crm.url=http://10.0.0.5:8470", "--data-dir", str(data)
    )

    assert status == 2 and error["error"] == "config"
    assert "crm.url: must use https:// for 10.0.0.5" in error["message"]
    assert "(from -o crm.url)" in error["message"]
    assert not data.exists() or not any(data.iterdir())


@pytest.mark.parametrize("url", ["http://10.0.0.5:8470", "http://crm.example"])
def test_provisioning_refuses_the_same_addresses_with_the_same_words(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, url: str
):
    config = tmp_path / "kiosk.toml"
    config.write_text('[device]\nid = "kiosk-https"\n[security]\npin_scrypt_n = 1024\n')
    monkeypatch.setenv("KIOSK_CONFIG", str(config))
    data = tmp_path / "data"

    status, error = kiosk("provision", "--crm", url, "--code", "K7Q2-M9XA", "--data-dir", str(data))

    assert status == 1 and error["error"] == "error.provision.bad_url"
    assert error["message"] == f"The CRM address {crm_url_problem(url)}."
    assert not data.exists()  # no database, no settings, no secret; no PIN asked
