"""The faults the simulated CRM (sim/crm.py) injects on demand. Faults are named,
with a rate or a value, comma-separated:

| fault | effect |
|---|---|
| `5xx=0.3` | that share of signed requests answer 503 `unavailable` (Retry-After: 1) |
| `429=0.1` | that share answer 429 `rate_limited` (Retry-After: 1) |
| `latency=0.05` | every answer waits that many seconds |
| `timeout=0.1` | that share of requests get no answer for `hang` seconds (default 5) |
| `reset=0.1` | that share of connections are closed without an answer |
| `partial=0.2` | that share of pushes store only the first half of the batch |
| `slow=0.1` | that share of answers trickle out a byte every `drip` seconds (default 0.05) |
| `huge=0.05` | that share of answers are 20 MiB of valid JSON (more than a kiosk reads) |
| `garbage=0.05` | that share of answers are 200 with a body that is not the protocol's |
| `revoked` | every signed request answers 403 `device_revoked` |
| `amnesia` | every push and heartbeat answers `high_water` 0 (entries still stored) |
| `restless` | every page of changes names a new feed `epoch` (as if restored each time) |
| `seed=7` | the random choices repeat from run to run |

A fault hits before the request is handled, except `timeout`, `reset`, `slow`, `huge` and
`garbage` on a push, which hit after it is stored (the kiosk does not know whether it
arrived: the hard case). `injected` counts the faults by kind.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Faults:
    """Which faults to inject, and how often."""

    rates: dict[str, float] = field(default_factory=dict)
    latency: float = 0.0
    hang: float = 5.0
    drip: float = 0.05
    revoked: bool = False
    amnesia: bool = False
    restless: bool = False
    seed: int | None = None

    @classmethod
    def parse(cls, spec: str) -> Faults:
        """Read a spec like "5xx=0.3,latency=0.05,seed=7"; ValueError names a bad part."""
        faults = cls()
        for part in filter(None, (p.strip() for p in spec.split(","))):
            name, _, value = part.partition("=")
            if name == "revoked" and not value:
                faults.revoked = True
            elif name == "amnesia" and not value:
                faults.amnesia = True
            elif name == "restless" and not value:
                faults.restless = True
            elif name in {"5xx", "429", "timeout", "reset", "partial", "slow", "huge", "garbage"}:
                rate = float(value)
                if not 0 <= rate <= 1:
                    raise ValueError(f"{name}: a rate is between 0 and 1, not {value}")
                faults.rates[name] = rate
            elif name == "latency":
                faults.latency = float(value)
            elif name == "hang":
                faults.hang = float(value)
            elif name == "drip":
                faults.drip = float(value)
            elif name == "seed":
                faults.seed = int(value)
            else:
                raise ValueError(
                    f"unknown fault {name!r}: 5xx, 429, timeout, reset, partial, slow, huge, "
                    "garbage, latency, hang, drip, revoked, amnesia, restless, seed"
                )
        return faults


# Bodies of a CRM with a bug: not JSON, JSON of the wrong shape, fields of the wrong type.
GARBAGE = [
    b"<html>Service temporarily unavailable</html>",
    b'{"high_water": "12", "changes": "none"}',
    b"[1, 2, 3]",
    b'{"high_water": -1, "next_cursor": null, "more": "yes"}',
    b'{"high_water": 1e400, "rejected": {"x": 1}}',
    b"\x1f\x8b\x08\x00garbage",
    b'{"changes": [1, "two", null], "next_cursor": 3, "more": false}',
    b"",
]
