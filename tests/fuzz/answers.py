"""What the fuzzing CRM answers: shaped like the protocol's answers or not, framed well or not.

Push answers, pages of changes, enrollment and heartbeat answers, each with fields dropped,
given other types or added (`mutated`), then sent as JSON, bytes, gzip, a gzip bomb,
deeply nested, huge or truncated, with odd statuses and headers (`answers`).
"""

from __future__ import annotations

import base64
import functools
import gzip
import json
from typing import Any

from hypothesis import event
from hypothesis import strategies as st

from kiosk.config import default_document
from tests.fuzz.crm import Answer
from tests.fuzz.database import BLOCKED_CARD, CARD, Template

DEFAULTS = default_document()

JSON_VALUES: st.SearchStrategy[Any] = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats() | st.text(max_size=12),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=10,
)
COUNTS = st.one_of(st.integers(0, 12), st.sampled_from([2**63 - 1, 2**63, -1]), JSON_VALUES)


@st.composite
def mutated(draw: st.DrawFn, good: dict[str, Any]) -> dict[str, Any]:
    """`good` with fields dropped, given other types, or added."""
    doc = dict(good)
    for _ in range(draw(st.integers(0, 3))):
        operation = draw(st.sampled_from(["drop", "retype", "extra"]))
        if operation != "extra" and doc:
            key = draw(st.sampled_from(sorted(doc)))
            if operation == "drop":
                del doc[key]
            else:
                doc[key] = draw(JSON_VALUES)
        else:
            doc[draw(st.text(max_size=8))] = draw(JSON_VALUES)
    return doc


TIMES = st.sampled_from(["2026-03-01T09:00:00.000000Z", "", "yesterday", "2026-13-45T99:00:00Z"])
UIDS = st.one_of(st.sampled_from([CARD, BLOCKED_CARD, "0011223344"]), st.text(max_size=10))


@st.composite
def push_answers(draw: st.DrawFn, template: Template) -> dict[str, Any]:
    rejected = [
        draw(
            mutated(
                {
                    "entry_id": draw(
                        st.one_of(st.sampled_from([e for _, e in template.entries]), st.text())
                    ),
                    "seq": draw(COUNTS),
                    "code": draw(st.sampled_from(["unknown_member", "invalid_entry", ""])),
                    "message": "no",
                }
            )
        )
        for _ in range(draw(st.integers(0, 3)))
    ]
    return draw(
        mutated(
            {
                "high_water": draw(COUNTS),
                "stored": draw(COUNTS),
                "duplicates": draw(COUNTS),
                "rejected": rejected,
            }
        )
    )


@st.composite
def change_data(draw: st.DrawFn, kind: str, template: Template) -> Any:
    member_id = draw(
        st.one_of(
            st.sampled_from([template.member_id, template.other_member_id, "m-crm-1"]),
            JSON_VALUES,
        )
    )
    if kind == "member":
        good: dict[str, Any] = {
            "member_id": member_id,
            "status": draw(st.sampled_from(["active", "erased", "gone"])),
            "created_at": draw(TIMES),
            "updated_at": draw(TIMES),
            "phone": draw(st.sampled_from(["+989121234567", "+989131234567", "0912", "x"])),
            "name": draw(st.one_of(st.none(), st.text(max_size=10))),
            "birthday": draw(st.sampled_from([None, "1990-01-01", "1370-05-12", "nope"])),
            "language": draw(st.sampled_from([None, "fa", "en", "xx"])),
            "consent_marketing": draw(st.one_of(st.booleans(), JSON_VALUES)),
            "consent_version": draw(st.sampled_from([None, "v1"])),
            "consent_at": draw(TIMES),
            "cards": [
                draw(
                    mutated(
                        {
                            "uid": draw(UIDS),
                            "status": draw(st.sampled_from(["active", "blocked", "lost"])),
                        }
                    )
                )
                for _ in range(draw(st.integers(0, 2)))
            ],
        }
    elif kind == "balance":
        good = {
            "member_id": member_id,
            "balance": draw(st.one_of(st.integers(-1000, 10**6), JSON_VALUES)),
            "acknowledged": draw(
                st.one_of(
                    st.dictionaries(st.sampled_from(["kiosk-test", "kiosk-b"]), COUNTS, max_size=2),
                    JSON_VALUES,
                )
            ),
        }
    elif kind == "erasure":
        good = {"member_id": member_id}
    elif kind == "program":
        program = DEFAULTS["program"]
        good = {
            "version": draw(COUNTS),
            "tiers": draw(
                st.one_of(
                    st.just(program["tiers"]),
                    st.lists(
                        st.builds(dict, st.just(program["tiers"][0])).flatmap(mutated), max_size=3
                    ),
                    JSON_VALUES,
                )
            ),
            "rewards": draw(
                st.one_of(
                    st.just(program["rewards"]),
                    st.lists(st.just(program["rewards"][0]).flatmap(mutated), max_size=3),
                    JSON_VALUES,
                )
            ),
        }
    else:  # staff
        good = {
            "staff_id": draw(st.sampled_from(["s-crm-1", template.manager_id])),
            "name": draw(st.text(max_size=8)),
            "role": draw(st.sampled_from(["cashier", "manager", "technician", "king"])),
            "pin_hash": draw(st.sampled_from(["scrypt$1024$8$1$c2FsdA$aGFzaA", "", "x"])),
            "cards": draw(st.lists(UIDS, max_size=2)),
            "disabled": draw(st.booleans()),
        }
    if draw(st.integers(0, 5)) == 0:
        return draw(JSON_VALUES)  # data that is not an object at all
    return draw(mutated(good))


@st.composite
def change_pages(draw: st.DrawFn, template: Template) -> dict[str, Any]:
    changes: list[Any] = []
    for index in range(draw(st.integers(0, 4))):
        kind = draw(st.sampled_from(["member", "balance", "erasure", "program", "staff", "other"]))
        change = {
            "cursor": index + 1,
            "type": kind,
            "data": draw(change_data(kind if kind != "other" else "erasure", template)),
        }
        changes.append(draw(mutated(change)) if draw(st.integers(0, 4)) == 0 else change)
        if draw(st.integers(0, 9)) == 0:
            changes.append(draw(JSON_VALUES))  # a change that is not an object
    return draw(
        mutated(
            {
                "changes": changes,
                "next_cursor": draw(st.one_of(st.integers(1, 50), COUNTS)),
                "more": draw(st.one_of(st.booleans(), JSON_VALUES)),
            }
        )
    )


def enroll_answers() -> st.SearchStrategy[dict[str, Any]]:
    secrets = st.one_of(
        st.binary(min_size=0, max_size=40).map(lambda b: base64.urlsafe_b64encode(b).decode()),
        st.text(max_size=20),
        JSON_VALUES,
    )
    return secrets.flatmap(
        lambda secret: mutated(
            {"device_id": "kiosk-test", "secret": secret, "server_time": "2026-03-01T09:00:00Z"}
        )
    )


def heartbeat_answers() -> st.SearchStrategy[dict[str, Any]]:
    return mutated({"server_time": "2026-03-01T09:00:00.000000Z"})


@functools.cache
def gzip_bomb() -> bytes:
    """20 MiB of spaces around an empty object, gzipped to a few kilobytes."""
    return gzip.compress(b"{" + b" " * (20 * 2**20) + b"}", compresslevel=9)


HEADER_TEXT = st.text(
    alphabet=st.characters(codec="latin-1", exclude_categories=["Cc"]), max_size=30
)
DATE_HEADERS = st.sampled_from(
    [
        "Sun, 01 Mar 2026 09:00:00 GMT",
        "Sun, 01 Mar 2026 09:00:00 -0000",
        "Sun, 01 Mar 2026 09:00:00",
        "Fri, 31 Dec 9999 23:59:59 GMT",
        "Mon, 01 Jan 0001 00:00:00 GMT",
        "not a date",
        "",
    ]
)
RETRY_AFTERS = st.sampled_from(
    [
        "0",
        "5",
        "120",
        "-1",
        "1.5",
        "99999999999999999999",
        "9" * 400,
        "²",
        "Sun, 01 Mar 2026 09:00:00 GMT",
        "soon",
        "",
    ]
)


@st.composite
def answers(draw: st.DrawFn, shaped: st.SearchStrategy[Any]) -> Answer:
    """An answer to one kiosk request: shaped like the protocol's or not, framed well or not."""
    label = draw(
        st.sampled_from(
            [
                "shaped",
                "shaped",
                "shaped",
                "shaped",
                "json",
                "bytes",
                "truncated",
                "empty",
                "nested",
                "huge",
                "gzip",
                "gzip_garbage",
                "gzip_bomb",
                "utf16",
            ]
        )
    )
    headers: list[tuple[str, str]] = []
    intended: Any = None
    if label in ("shaped", "huge", "gzip", "truncated", "utf16"):
        intended = draw(shaped)
        text = json.dumps(intended)
        body = text.encode()
        if label == "huge":
            padding = draw(st.sampled_from([2, 5, 17])) * 2**20
            body = b" " * padding + body
        elif label == "gzip":
            body = gzip.compress(body)
            headers.append(("Content-Encoding", "gzip"))
        elif label == "truncated":
            body = body[: draw(st.integers(0, max(0, len(body) - 1)))]
            intended = None
        elif label == "utf16":
            body = text.encode("utf-16")
    elif label == "json":
        intended = draw(JSON_VALUES)
        body = json.dumps(intended).encode()
    elif label == "bytes":
        body = draw(st.binary(max_size=200))
    elif label == "empty":
        body, intended = b"", {}
    elif label == "nested":
        depth = draw(st.sampled_from([100, 5_000, 200_000]))
        opener, closer = draw(st.sampled_from([(b"[", b"]"), (b'{"a":', b"}")]))
        body = opener * depth + (b"1" if opener != b"[" else b"") + closer * depth
    elif label == "gzip_garbage":
        body = draw(st.binary(max_size=100))
        headers.append(("Content-Encoding", draw(st.sampled_from(["gzip", "deflate", "br", "x"]))))
    else:  # gzip_bomb
        body = gzip_bomb()
        headers.append(("Content-Encoding", "gzip"))
    status = draw(
        st.one_of(
            st.just(200),
            st.just(200),
            st.sampled_from(
                [
                    201,
                    202,
                    204,
                    206,
                    299,
                    300,
                    302,
                    304,
                    400,
                    401,
                    403,
                    404,
                    409,
                    413,
                    418,
                    429,
                    500,
                    502,
                    503,
                    504,
                    599,
                ]
            ),
        )
    )
    if draw(st.booleans()):
        headers.append(
            (
                "Content-Type",
                draw(
                    st.sampled_from(
                        [
                            "application/json",
                            "text/html; charset=utf-8",
                            "application/json; charset=latin-1",
                        ]
                    )
                ),
            )
        )
    if draw(st.booleans()):
        headers.append(("Date", draw(st.one_of(DATE_HEADERS, HEADER_TEXT))))
    if status in (429, 503) or draw(st.integers(0, 4)) == 0:
        headers.append(("Retry-After", draw(st.one_of(RETRY_AFTERS, HEADER_TEXT))))
    if draw(st.integers(0, 9)) == 0:
        headers.append((draw(st.sampled_from(["X-Junk", "Content-Language"])), draw(HEADER_TEXT)))
    framing = draw(st.sampled_from(["exact", "exact", "exact", "none", "long"]))
    event(f"answer: {label}, {status}")
    return Answer(label, status, body, tuple(headers), intended, framing)


def is_count_or_bool(value: object) -> bool:
    return isinstance(value, bool) or is_count(value)


def is_count(value: object) -> bool:
    return type(value) is int and 0 <= value < 2**63


SUCCESS = range(200, 300)  # what may carry an answer the kiosk acts on
BELOW_400 = range(200, 400)  # what the client takes as one today (3xx: a known defect)
