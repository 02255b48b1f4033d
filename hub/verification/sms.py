"""Where a code's SMS goes: the hub's durable outbox of messages (hub/messaging/outbox.py)."""

from __future__ import annotations

from datetime import datetime

from hub.messaging.outbox import enqueue
from hub.verification.messages import code_text

KIND = "verification"


def send_code(
    *, phone: str, code: str, language: str, verification_id: int, expires_at: datetime
) -> None:
    """Queue the code's SMS in the caller's transaction (once per verification).

    It expires with the code: a gateway down for longer must not deliver a dead code later.
    """
    enqueue(
        phone=phone,
        body=code_text(code, language),
        kind=KIND,
        key=f"verification:{verification_id}",
        language=language,
        expires_at=expires_at,
    )
