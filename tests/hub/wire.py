"""A raw protocol client for tests: one device, signing as the kiosk does, bytes as given."""

from __future__ import annotations

import copy
import hashlib
import json
import uuid
from base64 import urlsafe_b64decode
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import urlsplit

import requests

from sim.crm import CrmServer
from sync.signing import PROTOCOL, PROTOCOL_VERSION, sign

if TYPE_CHECKING:
    from tests.hub.conftest import Hub

CREATED = "2026-03-01T09:00:00.000000Z"


@dataclass
class Server:
    """A CRM to talk to, and how to get an enrollment code from it."""

    name: str
    url: str
    hub: Hub | None = None
    sim: CrmServer | None = None
    codes: list[str] = field(default_factory=list)

    def new_code(self) -> str:
        if self.sim is not None:
            return self.sim.store.new_code()
        assert self.hub is not None
        if not self.codes:  # `hub device add` once for many: a command costs half a second
            self.codes = [str(d["code"]) for d in self.hub.new_devices(40)]
        return self.codes.pop()


class Wire:
    """One device's raw protocol client: signs as the kiosk does, sends bytes as given."""

    # Every Wire made, with what it sent and heard: checked against the OpenAPI file.
    made: ClassVar[list[Wire]] = []

    def __init__(self, server: Server) -> None:
        self.url = server.url
        self.device_id = f"kiosk-{uuid.uuid4().hex[:10]}"
        self.http = requests.Session()
        self.exchanges: list[tuple[str, str, requests.Response]] = []
        Wire.made.append(self)
        enrolled = self.enroll(server.new_code())
        assert enrolled.status_code == 201, enrolled.text
        self.secret = urlsafe_b64decode(enrolled.json()["secret"])

    def at(self, url: str) -> Wire:
        """The same device (its id and secret) talking to another server."""
        twin = copy.copy(self)
        twin.url, twin.http = url, requests.Session()
        return twin

    def enroll(self, code: str, device_id: str | None = None) -> requests.Response:
        body = {"code": code, "device_id": device_id or self.device_id}
        answer = self.http.post(
            self.url + "/v2/enroll", json=body, headers={PROTOCOL: PROTOCOL_VERSION}, timeout=30
        )
        self.exchanges.append(("POST", "/v2/enroll", answer))
        return answer

    def send(
        self, method: str, path: str, payload: Any = None, **headers: str
    ) -> requests.Response:
        body = b"" if payload is None else json.dumps(payload).encode()
        signed = sign(self.device_id, self.secret, method, path, body) | headers
        answer = self.http.request(method, self.url + path, data=body, headers=signed, timeout=30)
        self.exchanges.append((method, urlsplit(path).path, answer))
        return answer

    def push(self, entries: list[Any], members: list[Any] | None = None) -> requests.Response:
        body = {"device_id": self.device_id, "members": members or [], "entries": entries}
        return self.send("POST", "/v2/push", body)

    def changes(self, cursor: int = 0, limit: int = 1000) -> dict[str, Any]:
        answer = self.send("GET", f"/v2/changes?cursor={cursor}&limit={limit}")
        assert answer.status_code == 200, answer.text
        page: dict[str, Any] = answer.json()
        return page

    def entry(self, seq: int, member_id: str, points: int = 10, **fields: Any) -> dict[str, Any]:
        return {
            "entry_id": str(uuid.uuid4()),
            "device_id": self.device_id,
            "seq": seq,
            "kind": "earn",
            "member_id": member_id,
            "points": points,
            "amount": points * 100_000,
            "currency": "IRR",
            "cashier_id": "cashier-1",
            "created_at": CREATED,
            "reverses": None,
            "reward_id": None,
            "coupon_code": None,
            "reason": None,
            "expires_at": None,
            "client_txn_id": f"txn-{seq}",
        } | fields


def member(member_id: str, updated: str = CREATED, **fields: Any) -> dict[str, Any]:
    """A MemberRecord with a phone and a card of its own (derived from the id): the hub
    merges a new id whose phone another member holds, and drops a card another holds."""
    digits = int(hashlib.sha256(member_id.encode()).hexdigest()[:12], 16)
    return {
        "member_id": member_id,
        "status": "active",
        "created_at": CREATED,
        "updated_at": updated,
        "phone": f"+98912{digits % 10_000_000:07d}",
        "name": "Sara",
        "birthday": None,
        "language": "fa",
        "consent_marketing": False,
        "consent_version": None,
        "consent_at": None,
        "cards": [{"uid": f"{digits:012X}"[-8:], "status": "active"}],
    } | fields


def new_id() -> str:
    return f"m-{uuid.uuid4().hex[:12]}"


def outcome(answer: requests.Response) -> dict[str, Any]:
    """The parts of a push answer the protocol fixes (messages are for people)."""
    assert answer.status_code == 200, answer.text
    body = answer.json()
    return {
        "high_water": body["high_water"],
        "stored": body["stored"],
        "duplicates": body["duplicates"],
        "rejected": [(r["seq"], r["code"]) for r in body["rejected"]],
    }


def error_code(answer: requests.Response) -> tuple[int, str]:
    return answer.status_code, answer.json()["error"]["code"]
