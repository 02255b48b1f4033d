"""The audit log: one row per change made in the panel and per view of personal data."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from hub.devices.models import Branch


class AuditEvent(models.Model):
    """Who (user and role at the time), did what (action), to what (subject), when, from where.

    Rows are only ever added. The actor's name is kept beside the key so that the log
    still reads after a user is removed. `detail` never holds a secret (a password, a TOTP
    code) nor personal data beyond the subject's id.
    """

    at = models.DateTimeField(default=timezone.now)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_name = models.TextField(default="")
    role = models.TextField(default="")
    action = models.TextField()
    subject = models.TextField(default="")
    branch = models.ForeignKey(Branch, null=True, on_delete=models.SET_NULL, related_name="+")
    detail = models.JSONField(default=dict)
    ip = models.GenericIPAddressField(null=True)

    class Meta:
        db_table = "hub_audit_event"
        ordering = ("-at", "-id")
        indexes = (
            models.Index(fields=("at",), name="hub_audit_by_time"),
            models.Index(fields=("actor", "at"), name="hub_audit_by_actor"),
            models.Index(fields=("action", "at"), name="hub_audit_by_action"),
            # The page's filters: a member's trail (subject) and who did it (by name, which
            # still reads after a user is removed): hub/panel/audit_log.py.
            models.Index(fields=("subject", "at"), name="hub_audit_by_subject"),
            models.Index(fields=("actor_name", "at"), name="hub_audit_by_actor_name"),
        )

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_name} {self.action} {self.subject}"
