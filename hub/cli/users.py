"""`hub user add|list|disable|password|totp`: the people who may sign in to the panel.

The password is read from the terminal (asked twice) or, when standard input is not one,
its first line. The TOTP secret is printed once, to the operator, as the URI an
authenticator app takes (and the secret to type by hand): it is never logged nor shown
again (`hub user totp` makes a new one).
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from typing import Any

from django.contrib.auth.models import User
from django.contrib.auth.password_validation import validate_password
from django.contrib.sessions.models import Session
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone, translation
from django_otp.plugins.otp_totp.models import TOTPDevice  # type: ignore[import-untyped]

from hub.devices.models import Branch
from hub.errors import HubError
from hub.panel.models import PanelUser, Role

ROLES = [role.value for role in Role]


def register(commands: Any) -> None:
    """Add `user add` and `user list`."""
    user = commands.add_parser("user", help="the panel's users").add_subparsers(
        dest="action", required=True, metavar="ACTION"
    )
    add = user.add_parser("add", help="a panel user (asks the password; prints the TOTP URI once)")
    add.add_argument("name", help="the name to sign in with")
    add.add_argument("--role", required=True, choices=ROLES, help="owner, manager or support")
    add.add_argument("--branch", help="a manager's branch (managers only)")
    add.add_argument(
        "--no-totp",
        action="store_true",
        help="no second factor (managers and support only; owners must have one)",
    )
    add.set_defaults(handler=user_add)
    shown = user.add_parser("list", help="the panel's users")
    shown.add_argument("--json", action="store_true", help="as JSON")
    shown.set_defaults(handler=user_list)
    disable = user.add_parser("disable", help="refuse the user's sign-in and end their sessions")
    disable.add_argument("name")
    disable.set_defaults(handler=user_disable)
    password = user.add_parser("password", help="a new password (asked); ends their sessions")
    password.add_argument("name")
    password.set_defaults(handler=user_password)
    totp = user.add_parser(
        "totp", help="a new TOTP secret (printed once; the old one stops); ends their sessions"
    )
    totp.add_argument("name")
    totp.set_defaults(handler=user_totp)


def user_add(args: argparse.Namespace) -> int:
    """Make a panel user; print the TOTP provisioning URI once."""
    role = Role(args.role)
    branch = _branch(role, args.branch)
    if role is Role.OWNER and args.no_totp:
        raise HubError("an owner must have a second factor (drop --no-totp)")
    if User.objects.filter(username=args.name).exists():
        raise HubError(f"there is already a user named {args.name!r}")
    candidate = User(username=args.name)
    password = _strong_password(candidate)
    with transaction.atomic():
        candidate.set_password(password)
        candidate.save()
        PanelUser.objects.create(user=candidate, role=role.value, branch=branch)
        device = None
        if not args.no_totp:
            device = TOTPDevice.objects.create(user=candidate, name="panel", confirmed=True)
    where = f" at {branch.name}" if branch is not None else ""
    print(f"panel user {args.name} added ({role.value}{where})")
    if device is not None:
        _show_totp(device)
    return 0


def _show_totp(device: TOTPDevice) -> None:
    print("add this to the authenticator app (shown once; keep it secret):")
    print(f"  {device.config_url}")


def _strong_password(user: User) -> str:
    """The password read (see _read_password), refused unless Django's validators pass."""
    password = _read_password()
    try:
        # The hub's commands speak English (the panel's default language is Persian).
        with translation.override("en"):
            validate_password(password, user)
    except ValidationError as exc:
        raise HubError("the password is too weak: " + " ".join(exc.messages)) from None
    return password


def _panel_user(name: str) -> User:
    found = User.objects.filter(username=name, panel__isnull=False).first()
    if found is None:
        raise HubError(f"no panel user named {name!r} (hub user list)")
    return found


def _end_sessions(user: User) -> int:
    """Delete the user's sessions (a stolen one included); how many there were."""
    ended = 0
    for session in Session.objects.filter(expire_date__gt=timezone.now()).iterator():
        if session.get_decoded().get("_auth_user_id") == str(user.pk):
            session.delete()
            ended += 1
    return ended


def user_disable(args: argparse.Namespace) -> int:
    """Refuse the user's sign-in from now on and end their sessions."""
    user = _panel_user(args.name)
    with transaction.atomic():
        user.is_active = False
        user.save(update_fields=["is_active"])
        ended = _end_sessions(user)
    print(f"panel user {user.username} disabled ({ended} sessions ended)")
    return 0


def user_password(args: argparse.Namespace) -> int:
    """Set a new password (asked as for `user add`) and end the user's sessions."""
    user = _panel_user(args.name)
    password = _strong_password(user)
    with transaction.atomic():
        user.set_password(password)
        user.save(update_fields=["password"])
        ended = _end_sessions(user)
    print(f"new password for {user.username} ({ended} sessions ended)")
    return 0


def user_totp(args: argparse.Namespace) -> int:
    """Replace the user's TOTP secret (the old app's codes stop) and print the new one once."""
    user = _panel_user(args.name)
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user).delete()
        device = TOTPDevice.objects.create(user=user, name="panel", confirmed=True)
        ended = _end_sessions(user)
    print(f"new TOTP secret for {user.username} ({ended} sessions ended)")
    _show_totp(device)
    return 0


def _branch(role: Role, name: str | None) -> Branch | None:
    if role is not Role.MANAGER:
        if name:
            raise HubError("only a manager has a branch (owners and support see every branch)")
        return None
    if not name:
        raise HubError("a manager needs --branch NAME")
    found = Branch.objects.filter(name=name).first()
    if found is None:
        raise HubError(f"no branch named {name!r} (hub branch list)")
    return found


def _read_password() -> str:
    """From the terminal, twice; else the first line of standard input."""
    if sys.stdin.isatty():
        first = getpass.getpass("password: ")
        if getpass.getpass("again: ") != first:
            raise HubError("the two passwords differ")
        return first
    return sys.stdin.readline().rstrip("\r\n")


def user_list(args: argparse.Namespace) -> int:
    """Print the panel's users, a line each (or as JSON)."""
    rows = [
        {
            "name": panel.user.username,
            "role": panel.role,
            "branch": panel.branch.name if panel.branch is not None else None,
            "totp": TOTPDevice.objects.devices_for_user(panel.user, confirmed=True).exists(),
            "active": panel.user.is_active,
            "last_login": panel.user.last_login.isoformat() if panel.user.last_login else None,
        }
        for panel in PanelUser.objects.select_related("user", "branch").order_by("user__username")
    ]
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return 0
    for row in rows:
        totp = "totp" if row["totp"] else "no-totp"
        active = "active" if row["active"] else "disabled"
        print(
            f"{row['name']}\t{row['role']}\t{row['branch'] or '-'}\t{totp}\t{active}"
            f"\t{row['last_login'] or '-'}"
        )
    return 0
