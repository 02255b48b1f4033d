"""Signing in to the panel: password, then the TOTP code, under a rate limit.

The rate limit is a small counter in the database (SignInFailure) rather than
django-axes: the panel needs two limits of different sizes, per account name (a few tries)
and per address (many more: a shop's office is often one address for all its staff,
behind one router), and axes has one limit for every parameter; it would also want its
own authentication backend and would keep the names typed in clear. Failures of the code
and of the password count alike, in one form, so that a wrong answer never says which
factor was wrong.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import authenticate, login
from django.contrib.auth.models import User
from django.http import HttpRequest
from django.utils import timezone
from django_otp import login as otp_login  # type: ignore[import-untyped]
from django_otp.plugins.otp_totp.models import TOTPDevice  # type: ignore[import-untyped]

from hub import audit
from hub.panel.models import PanelUser, Role, SignInFailure
from hub.protocol.sources import source_address

# Read at each sign-in, so that a test (or an owner) may tune them in settings.
SESSION_SINCE = "panel_since"  # when the session was signed in (the absolute limit)
_PERSIAN = str.maketrans("۰۱۲۳۴۵۶۷۸۹٠١٢٣٤٥٦٧٨٩", "01234567890123456789")


@dataclass(frozen=True)
class Outcome:
    """What a sign-in attempt came to: `user` when signed in, else `locked` or not."""

    user: User | None = None
    locked: bool = False


def client_address(request: HttpRequest) -> str | None:
    """The client's address (through trusted proxies only), or None."""
    return source_address(request.META, settings.HUB_TRUSTED_PROXIES) or None


def account_digest(name: str) -> str:
    """A keyed digest of the name typed: counts per name without keeping it."""
    key = settings.SECRET_KEY.encode()
    return hmac.new(key, name.strip().casefold().encode(), hashlib.sha256).hexdigest()


def is_locked(account: str, ip: str | None) -> bool:
    """Whether the account name or the address has failed too often within the window."""
    since = timezone.now() - timedelta(seconds=settings.PANEL_SIGN_IN_WINDOW_SECONDS)
    recent = SignInFailure.objects.filter(at__gte=since)
    if recent.filter(account=account).count() >= settings.PANEL_SIGN_IN_ACCOUNT_LIMIT:
        return True
    return ip is not None and (recent.filter(ip=ip).count() >= settings.PANEL_SIGN_IN_ADDRESS_LIMIT)


def sign_in(request: HttpRequest, name: str, password: str, code: str) -> Outcome:
    """Check the name, password and TOTP code; sign the session in, or count a failure.

    Every outcome is in the audit log: a sign-in, a failure (with which step failed, for
    the owner), a lockout when it begins, and each attempt refused while locked.
    """
    ip = client_address(request)
    account = account_digest(name)
    known = User.objects.filter(username=name).first()
    subject = known.get_username() if known is not None else ""
    if is_locked(account, ip):
        audit.record(request, "sign_in_locked", subject)
        return Outcome(locked=True)
    user = authenticate(request, username=name, password=password)
    reason = _refusal(user, code)
    if user is None or reason:
        SignInFailure.objects.create(account=account, ip=ip)
        audit.record(request, "sign_in_failed", subject, {"reason": reason or "password"})
        if is_locked(account, ip):
            audit.record(request, "locked_out", subject)
            return Outcome(locked=True)
        return Outcome()
    login(request, user)
    device = TOTPDevice.objects.devices_for_user(user, confirmed=True).first()
    if device is not None:
        otp_login(request, device)
    request.session[SESSION_SINCE] = time.time()
    branch = PanelUser.objects.filter(user_id=user.pk).values_list("branch_id", flat=True)
    audit.record(request, "sign_in", subject, {"second_factor": device is not None}, branch.first())
    return Outcome(user=user)


def _refusal(user: User | None, code: str) -> str:
    """Why a user whose password was right is still refused ("" if not)."""
    if user is None:
        return "password"
    panel = PanelUser.objects.filter(user_id=user.pk).first()
    if panel is None:
        return "not_a_panel_user"
    device = TOTPDevice.objects.devices_for_user(user, confirmed=True).first()
    if device is None:
        # Owners must have a second factor (`hub user add` gives them one).
        return "no_second_factor" if panel.role == Role.OWNER else ""
    token = code.translate(_PERSIAN).strip().replace(" ", "")
    if not (token.isascii() and token.isdigit()):
        return "code"
    # django-otp checks the code with a step of tolerance, refuses a code used before,
    # and slows guessing down (each failure doubles the wait before the next check).
    return "" if device.verify_token(token) else "code"
