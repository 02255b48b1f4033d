"""The panel's tests: a real hub (`hub serve` on loopback, real PostgreSQL, as tests/hub
starts it) and Debian's Chromium driven by Playwright, as a person signs in.

Chromium is the system's (/usr/bin/chromium, `make` installs it); Playwright's own browser
download is never used. Where Chromium is missing the browser tests skip and say why,
except under CI, where that is a failure. Users are made with `hub user add`, a new one for
each sign-in: a TOTP code is refused a second time (django-otp's replay guard), so a user
signs in once per 30 seconds at most.
"""

from __future__ import annotations

import itertools
import os
import shutil
from base64 import b32decode
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from hub.environment import SECRET_KEY_FILENAME, create_secret_key

# The hub's fixtures (PostgreSQL, a migrated template, `hub serve`), shared, not copied.
from tests.hub.conftest import (  # noqa: F401 (fixtures)
    Hub,
    HubServer,
    Postgres,
    hub_env,
    hub_template,
    make_hub,
    postgres,
)

CHROMIUM = Path("/usr/bin/chromium")
# Headless, and nothing that reaches out: on a closed network Chromium's background
# connections would be refused by the dozen (docs/panel.md).
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PASSWORD = "a long passphrase, 4 words"
BRANCH = "Valiasr"
OTHER_BRANCH = "Tajrish"
_names = itertools.count(1)


@dataclass
class PanelAccount:
    """A panel user the test made: their name, password, role and TOTP secret."""

    name: str
    password: str
    role: str
    secret: bytes | None  # the TOTP key (None: made with --no-totp)

    def code(self, offset: int = 0) -> str:
        """The authenticator app's code now (`offset`: that many 30-second steps away)."""
        from django_otp.oath import TOTP  # type: ignore[import-untyped]

        assert self.secret is not None
        totp = TOTP(self.secret)
        totp.time = totp.time + 30 * offset
        token: int = totp.token()
        return f"{token:06d}"


@dataclass
class PanelHub:
    """The hub the panel's tests share, its URL, and how to make users on it."""

    hub: Hub
    url: str

    def add_user(
        self, role: str, *, branch: str | None = None, totp: bool = True, password: str = PASSWORD
    ) -> PanelAccount:
        """`hub user add` with a new name; the TOTP secret read off the URI it prints."""
        name = f"{role}{next(_names)}"
        args = ["user", "add", name, "--role", role]
        if branch:
            args += ["--branch", branch]
        if not totp:
            args.append("--no-totp")
        done = self.hub.run(*args, stdin=password + "\n")
        secret = None
        for line in done.stdout.splitlines():
            if line.strip().startswith("otpauth://"):
                query = parse_qs(urlsplit(line.strip()).query)
                secret = b32decode(query["secret"][0])
        assert (secret is not None) == totp, done.stdout
        return PanelAccount(name, password, role, secret)


class _TrustingHub(Hub):
    """A hub whose server believes X-Forwarded-For from loopback, as behind a local
    reverse proxy: a test can then sign in from other addresses (the per-address limit)."""

    @property
    def env(self) -> dict[str, str]:
        return hub_env(self.postgres.url(self.database), self.data_dir) | {
            "HUB_TRUSTED_PROXIES": "127.0.0.1"
        }


@pytest.fixture(scope="session")
def panel_hub(
    postgres: Postgres,  # noqa: F811 (the fixture imported above)
    hub_template: str,  # noqa: F811
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[PanelHub]:
    made = make_hub(postgres, hub_template, tmp_path_factory.mktemp("panel-hub"))
    hub = _TrustingHub(made.postgres, made.database, made.data_dir)
    hub.run("branch", "add", BRANCH)
    hub.run("branch", "add", OTHER_BRANCH)
    server = HubServer(hub).start()
    yield PanelHub(hub, server.url)
    server.stop(graceful=False)


@pytest.fixture(scope="module")
def django_in_process(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Django set up in the test's own process with the hub's settings (for tests of the
    panel's pieces that need no database: filters, middleware)."""
    import django
    from django.apps import apps

    if not apps.ready:
        os.environ["DJANGO_SETTINGS_MODULE"] = "hub.settings"
        os.environ.setdefault("HUB_DATA_DIR", str(tmp_path_factory.mktemp("hub-data")))
        os.environ.setdefault("HUB_DB_POOL_MAX", "0")
        # With a secret key, as `hub migrate` leaves one: Django is set up once per
        # process, and a later module's test in this process may sign with it (the SMS
        # opt-out links), which an empty key refuses.
        create_secret_key(Path(os.environ["HUB_DATA_DIR"]) / SECRET_KEY_FILENAME)
        django.setup()


def _no_chromium(reason: str) -> None:
    # The Makefile installs Chromium (`make`, as root); under CI a browser test that
    # cannot run is a failure, as the hub's tests treat PostgreSQL.
    if os.environ.get("CI"):
        pytest.fail(f"Chromium is needed for the panel's browser tests: {reason}")
    pytest.skip(f"Chromium is needed for the panel's browser tests: {reason}")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's Chromium, headless, started by Playwright (never its own browser build).

    One per test module, not per session: Playwright's sync API keeps an asyncio loop
    running in the main thread while it lives, and Django then refuses every database call
    made in that thread by the in-process tests of the modules that follow
    (SynchronousOnlyOperation). Stopping it after each browser module ends that loop.
    """
    if not CHROMIUM.exists() or shutil.which("chromium") is None:
        _no_chromium(f"{CHROMIUM} is missing (make installs Debian's chromium)")
    try:
        from playwright.sync_api import Error, sync_playwright
    except ImportError:
        _no_chromium("the playwright package is missing (make installs the dev extras)")
    runner = sync_playwright().start()
    try:
        # launch() gives each run a new, empty profile folder of its own (Playwright
        # refuses --user-data-dir among the args; launch_persistent_context takes one).
        started = runner.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
    except Error as exc:
        runner.stop()
        _no_chromium(f"Chromium did not start: {str(exc).splitlines()[0]}")
    yield started
    started.close()
    runner.stop()


_addresses = itertools.count(1)


def open_context(browser: Any, panel_hub: PanelHub, **options: Any) -> Any:
    """A new browser context (no cookies), at 1366x768, on the panel's hub, coming from an
    address of its own: the hub believes X-Forwarded-For from loopback here, so one test's
    failed sign-ins never count towards another's per-address limit."""
    n = next(_addresses)
    address = f"10.{n // 65536 % 256}.{n // 256 % 256}.{n % 256}"
    context = browser.new_context(
        base_url=panel_hub.url,
        viewport={"width": 1366, "height": 768},
        locale="en-US",
        extra_http_headers={"X-Forwarded-For": address},
        **options,
    )
    context.set_default_timeout(15_000)  # a safety limit, never a pace
    return context


@pytest.fixture
def page(browser: Any, panel_hub: PanelHub) -> Iterator[Any]:
    """A new browser window with no cookies, pointed at the panel's hub (open_context)."""
    context = open_context(browser, panel_hub)
    opened = context.new_page()
    yield opened
    context.close()


def sign_in_form(page: Any, account: PanelAccount, code: str | None = None) -> None:
    """Fill the sign-in page and send it (`code`: the TOTP code, the right one if None)."""
    if "/panel/sign-in" not in page.url:
        page.goto("/panel/sign-in")
    page.fill("#id_username", account.name)
    page.fill("#id_password", account.password)
    if account.secret is not None or code is not None:
        page.fill("#id_code", code if code is not None else account.code())
    with page.expect_navigation():
        page.click("form.sign-in button[type=submit]")


@pytest.fixture
def signed_in(panel_hub: PanelHub) -> Callable[..., PanelAccount]:
    """`signed_in(page, role, branch=...)`: a new user of `role`, signed in in `page`."""

    def sign(page: Any, role: str, *, branch: str | None = None) -> PanelAccount:
        if role == "manager" and branch is None:
            branch = BRANCH
        account = panel_hub.add_user(role, branch=branch)
        page.goto("/panel/sign-in")
        sign_in_form(page, account)
        assert urlsplit(page.url).path == "/panel/", page.content()
        return account

    return sign


def expire_session(panel_hub: PanelHub, page: Any) -> None:
    """End the session of `page`'s browser as its idle time running out would (Django keeps
    each session's end in the database)."""
    (key,) = [c["value"] for c in page.context.cookies() if c["name"] == "hub_session"]
    sql(
        panel_hub,
        "UPDATE django_session SET expire_date = now() - interval '1 minute'"
        " WHERE session_key = %s",
        key,
    )


def sql(panel_hub: PanelHub, statement: str, *params: Any) -> list[Any]:
    """One statement on the panel hub's database."""
    return panel_hub.hub.sql(statement, *params)


def switch_language(page: Any) -> None:
    """Press the language button (Persian to English or back) and wait for the page."""
    with page.expect_navigation():
        page.click("form.language button")
