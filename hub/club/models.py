"""The phone page's sign-in codes and sessions, apart from the panel's and the kiosks'.

Neither keeps a phone number or a code in clear: a code's keyed hash, the phone's and the
address's keyed digests (hub/club/codes.py), a session's token as its SHA-256 (the cookie
holds the token; a copy of the database alone opens no session).
"""

from __future__ import annotations

from django.db import models


class ClubCode(models.Model):
    """A code asked for on the phone page: one per request, member or not.

    A number that is no member gets a row too (with no code sent and `member_id` null):
    the limits and the answers are then the same for every number, so the page never
    tells whether a number is a member.
    """

    phone_digest = models.TextField()
    address_digest = models.TextField()
    member_id = models.TextField(null=True)  # the survivor the code signs in; None: no member
    code_hash = models.TextField()
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    attempts = models.IntegerField(default=0)
    # pending; used (signed in); expired; exhausted (too many wrong tries); replaced (resent)
    state = models.TextField(default="pending")

    class Meta:
        db_table = "hub_club_code"
        indexes = (
            models.Index(fields=("phone_digest", "created_at"), name="hub_club_code_by_phone"),
            models.Index(fields=("address_digest", "created_at"), name="hub_club_code_by_addr"),
        )


class ClubSession(models.Model):
    """A member signed in on their phone: ends after IDLE of no use, or MAX however used."""

    token_hash = models.TextField(primary_key=True)
    member_id = models.TextField(db_index=True)
    created_at = models.DateTimeField()
    last_seen = models.DateTimeField()

    class Meta:
        db_table = "hub_club_session"
