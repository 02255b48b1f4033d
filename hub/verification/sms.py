"""Where a code's SMS goes: the hub's durable outbox of messages (docs/messaging.md).

The one line to switch when hub.messaging.outbox is committed (helper E, issue 17):
"""

from __future__ import annotations

from hub.verification.messages import code_text
from hub.verification.standin import enqueue  # -> from hub.messaging.outbox import enqueue

KIND = "verification"


def send_code(*, phone: str, code: str, language: str, verification_id: int) -> None:
    """Queue the code's SMS in the caller's transaction (once per verification)."""
    enqueue(
        phone=phone,
        body=code_text(code, language),
        kind=KIND,
        key=f"verification:{verification_id}",
        language=language,
    )
