"""Adding to the audit log, from a request: who, their role, their address."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.http import HttpRequest

from hub.audit.models import AuditEvent
from hub.protocol.sources import source_address


def record(
    request: HttpRequest,
    action: str,
    subject: str = "",
    detail: dict[str, Any] | None = None,
    branch_id: int | None = None,
    *,
    actor: AbstractBaseUser | None = None,
) -> AuditEvent:
    """Add one event: the signed-in user (or `actor`, before they are signed in)."""
    user = actor if actor is not None else getattr(request, "user", None)
    if user is not None and not user.is_authenticated:
        user = None
    access = getattr(request, "access", None)
    role = str(access.role) if access is not None else _role_of(user)
    return AuditEvent.objects.create(
        actor_id=user.pk if user is not None else None,
        actor_name=user.get_username() if user is not None else "",
        role=role,
        action=action,
        subject=subject,
        branch_id=branch_id,
        detail=detail or {},
        ip=source_address(request.META, settings.HUB_TRUSTED_PROXIES) or None,
    )


def _role_of(user: AbstractBaseUser | None) -> str:
    if user is None:
        return ""
    from hub.panel.models import PanelUser

    found = PanelUser.objects.filter(user_id=user.pk).values_list("role", flat=True).first()
    return found or ""
