"""The panel's users (Django's users with a role and, for a manager, a branch) and its
record of failed sign-ins (the rate limit)."""

from __future__ import annotations

from enum import StrEnum

from django.conf import settings
from django.db import models
from django.utils import timezone

from hub.devices.models import Branch


class Role(StrEnum):
    """What a panel user may do: an owner everything; a manager their branch; support no
    personal data."""

    OWNER = "owner"
    MANAGER = "manager"
    SUPPORT = "support"


class PanelUser(models.Model):
    """A Django user who may use the panel, with their role (and a manager's branch)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="panel"
    )
    role = models.TextField(choices=[(role.value, role.value) for role in Role])
    # A manager's branch; null for owners and support (every branch).
    branch = models.ForeignKey(Branch, null=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "hub_panel_user"
        constraints = (
            models.CheckConstraint(
                condition=models.Q(role__in=[role.value for role in Role]),
                name="hub_panel_user_role",
            ),
            models.CheckConstraint(
                condition=models.Q(role="manager", branch__isnull=False)
                | (~models.Q(role="manager") & models.Q(branch__isnull=True)),
                name="hub_panel_user_branch_for_managers_only",
            ),
        )

    def __str__(self) -> str:
        return f"{self.user_id} ({self.role})"


class SignInFailure(models.Model):
    """A refused sign-in: counted per account name and per address over a window
    (hub/panel/signin.py).

    The name typed is kept only as a keyed digest (HMAC with the secret key): a password
    typed in the name's field must not sit here in clear, and names that are no account
    count as any other, so that the lockout does not tell which names exist.
    """

    at = models.DateTimeField(default=timezone.now)
    account = models.TextField()
    ip = models.GenericIPAddressField(null=True)

    class Meta:
        db_table = "hub_panel_sign_in_failure"
        indexes = (
            models.Index(fields=("account", "at"), name="hub_sign_in_failure_by_name"),
            models.Index(fields=("ip", "at"), name="hub_sign_in_failure_by_ip"),
        )
