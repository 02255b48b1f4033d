"""The audit log (hub/audit/log.py): `record(request, action, ...)` after every change made
in the panel and every view of personal data."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser
    from django.http import HttpRequest

    from hub.audit.models import AuditEvent


def record(
    request: HttpRequest,
    action: str,
    subject: str = "",
    detail: dict[str, Any] | None = None,
    branch_id: int | None = None,
    *,
    actor: AbstractBaseUser | None = None,
) -> AuditEvent:
    """Add one event: the signed-in user (or `actor`) did `action` to `subject`."""
    # Imported here: this package is imported before Django's apps are ready.
    from hub.audit.log import record as record_event

    return record_event(request, action, subject, detail, branch_id, actor=actor)
