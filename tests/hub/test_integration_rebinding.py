"""DNS rebinding against the webhook guard: the hub calls the address it checked, by name.

A receiver's name answers a public address to the guard's look-up and 127.0.0.1 a moment
later (the attacker's DNS, TTL 0). The hub must connect to the address it checked, so the
receiver on loopback, a real TLS server with a certificate for that very name, is never
reached. And a delivery by name still works: over HTTP with the name in `Host`, over
HTTPS with the name in SNI and the certificate checked against the name.
"""

from __future__ import annotations

import datetime as dt
import socket
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from kiosk.core.clock import ManualClock
from tests.hub.conftest import Hub, HubServer
from tests.hub.test_integration_webhooks import add_endpoint, django_on
from tests.hub.webhook_receiver import WebhookReceiver
from tests.hub.wire import Server, Wire, member, new_id

# A global address (6to4 relays' anycast, retired by RFC 7526) where no webhook answers.
PUBLIC = "192.88.99.1"


@dataclass
class TlsReceiver:
    """A webhook receiver on loopback over TLS, and what its TLS handshakes named."""

    receiver: WebhookReceiver
    ca_file: Path
    port: int
    server_names: list[str | None] = field(default_factory=list)


def certificate(name: str, folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for `name` (its own CA), and its key."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = folder / f"{name}.pem", folder / f"{name}.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


@contextmanager
def tls_receiver(name: str, folder: Path, clock: ManualClock) -> Iterator[TlsReceiver]:
    """The test's receiver (tests/hub/webhook_receiver.py) behind TLS for `name`."""
    cert_file, key_file = certificate(name, folder)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    receiver = WebhookReceiver(clock=lambda: clock().timestamp())
    running = TlsReceiver(receiver, cert_file, receiver._server.server_address[1])

    def named(_sock: Any, server_name: str | None, _context: Any) -> None:
        running.server_names.append(server_name)

    context.sni_callback = named
    receiver._server.socket = context.wrap_socket(receiver._server.socket, server_side=True)
    with receiver:
        yield running


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(dt.datetime.now(dt.UTC))


@pytest.fixture
def wire(hub: Hub, hub_server: HubServer) -> Wire:
    return Wire(Server("hub", hub_server.url, hub=hub))


def pending_delivery_to(hub: Hub, wire: Wire, url: str, clock: ManualClock) -> None:
    """An endpoint at `url` (a name no DNS knows: set after `hub webhook add` checked a
    loopback URL) with one pending delivery, due by `clock`; this process's Django on the hub."""
    add_endpoint(hub, "http://127.0.0.1:9/club-events", "points.earned")
    hub.sql("UPDATE hub_integration_endpoint SET url = %s", url)
    member_id = new_id()
    assert wire.push([wire.entry(1, member_id, 5)], [member(member_id)]).status_code == 200
    django_on(hub)
    clock.now = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1)


def sender(clock: ManualClock, ca_file: Path | None = None, **options: Any) -> Any:
    from hub.integration.delivery import Sender

    session = requests.Session()
    if ca_file is not None:
        session.verify = str(ca_file)
    return Sender(clock=clock, session=session, connect_timeout=0.5, read_timeout=2.0, **options)


def delivery_state() -> tuple[str, str | None]:
    from hub.integration.models import Delivery

    (delivery,) = Delivery.objects.all()
    return delivery.state, delivery.last_error


def test_a_name_rebound_to_loopback_after_the_check_never_reaches_the_inner_receiver(
    hub: Hub, wire: Wire, clock: ManualClock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    name = "crm.rebind.test"
    with tls_receiver(name, tmp_path, clock) as inner:
        pending_delivery_to(hub, wire, f"https://{name}:{inner.port}/club-events", clock)
        asked: list[str] = []
        system = socket.getaddrinfo

        def rebinding(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
            # The attacker's DNS: public to the first question, loopback to every later one.
            if host != name:
                return system(host, port, *args, **kwargs)
            asked.append(PUBLIC if not asked else "127.0.0.1")
            return system(asked[-1], port, *args, **kwargs)

        monkeypatch.setattr(socket, "getaddrinfo", rebinding)
        from hub.integration.delivery import deliver_due

        assert deliver_due(sender(clock, inner.ca_file, allow_private=False)) == 1

        assert inner.receiver.state.attempts == []
        assert inner.server_names == []  # not even a TLS handshake on loopback
        assert asked == [PUBLIC]  # looked up once, by the check
        state, error = delivery_state()
        assert state == "pending" and error, error


def test_a_delivery_by_name_goes_to_the_checked_address_with_the_name_as_host(
    hub: Hub, wire: Wire, clock: ManualClock
) -> None:
    with WebhookReceiver(clock=lambda: clock().timestamp()) as receiver:
        port = receiver._server.server_address[1]
        pending_delivery_to(hub, wire, f"http://crm.pinned.test:{port}/club-events", clock)
        from hub.integration.models import Endpoint

        receiver.state.secrets.append(_secret_of(Endpoint.objects.get()))
        answers = iter((["127.0.0.1"], ["127.0.0.2"]))  # a second answer must never be used
        from hub.integration.delivery import deliver_due

        deliver_due(sender(clock, allow_private=True, resolve=lambda _h, _p: next(answers)))

        assert delivery_state() == ("delivered", None)
        (sent,) = receiver.state.captured
        assert sent.headers["Host"] == f"crm.pinned.test:{port}"


@pytest.mark.parametrize(("certified", "delivered"), [(True, True), (False, False)])
def test_over_https_the_pinned_connection_names_and_checks_the_name(
    hub: Hub, wire: Wire, clock: ManualClock, tmp_path: Path, certified: bool, delivered: bool
) -> None:
    name = "crm.tls.test"
    called = name if certified else "crm.other.test"  # the certificate is for `name` only
    with tls_receiver(name, tmp_path, clock) as inner:
        pending_delivery_to(hub, wire, f"https://{called}:{inner.port}/club-events", clock)
        from hub.integration.models import Endpoint

        inner.receiver.state.secrets.append(_secret_of(Endpoint.objects.get()))
        from hub.integration.delivery import deliver_due

        deliver_due(
            sender(clock, inner.ca_file, allow_private=True, resolve=lambda _h, _p: ["127.0.0.1"])
        )

        state, error = delivery_state()
        if delivered:
            assert (state, error) == ("delivered", None)
            assert inner.server_names == [name]
            (sent,) = inner.receiver.state.captured
            assert sent.headers["Host"] == f"{name}:{inner.port}"
        else:
            assert state == "pending" and error is not None and "could not connect" in error
            assert inner.receiver.state.captured == []


def _secret_of(endpoint: Any) -> str:
    from hub.integration import sealing

    return sealing.unseal(bytes(endpoint.sealed_secret))
