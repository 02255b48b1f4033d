"""Who may open a panel page, and which branches and data they see there.

Every page is wrapped in `panel_page(...)`: a signed-in panel user, verified with their
second factor when they have one (owners must), of one of the roles the page names. The
view then finds `request.access`, which scopes its querysets to the branches allowed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import TYPE_CHECKING, Concatenate, ParamSpec, TypeVar

from django.contrib.auth.views import redirect_to_login
from django.db.models import Model, QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from hub.panel.models import PanelUser, Role

if TYPE_CHECKING:
    from django.contrib.auth.models import User

__all__ = [
    "Access",
    "PanelRequest",
    "PanelUser",
    "Role",
    "access_of",
    "may_open",
    "panel_page",
]

P = ParamSpec("P")
M = TypeVar("M", bound=Model)


@dataclass(frozen=True)
class Access:
    """What the signed-in panel user may see: their role and branches (None: every one)."""

    user_id: int
    role: Role
    branch_ids: frozenset[int] | None

    @property
    def sees_personal(self) -> bool:
        """Whether names, phones and birthdays may be shown (support never sees them)."""
        return self.role is not Role.SUPPORT

    def sees_branch(self, branch_id: int | None) -> bool:
        """Whether a branch's figures and members are this user's to see."""
        return self.branch_ids is None or branch_id in self.branch_ids

    def members(self, members: QuerySet[M]) -> QuerySet[M]:
        """`hub_member` rows scoped to the members who used a branch allowed."""
        if self.branch_ids is None:
            return members
        from hub.members.models import BranchMember

        used = BranchMember.objects.filter(branch_id__in=self.branch_ids).values("member_id")
        return members.filter(member_id__in=used)

    def entries(self, entries: QuerySet[M]) -> QuerySet[M]:
        """`hub_entry` rows (or any model with a `device`) scoped to the branches allowed."""
        if self.branch_ids is None:
            return entries
        return entries.filter(device__branch_id__in=self.branch_ids)


class PanelRequest(HttpRequest):
    """A request that `panel_page` let through: its user and their access are known."""

    user: User
    access: Access


def access_of(panel_user: PanelUser) -> Access:
    """The access a panel user's role and branch give."""
    role = Role(panel_user.role)
    branches: frozenset[int] | None = None  # owners and support: every branch
    if role is Role.MANAGER:
        # The database holds a manager to one branch; none would see nothing.
        branch = panel_user.branch_id
        branches = frozenset() if branch is None else frozenset([branch])
    return Access(user_id=panel_user.user_id, role=role, branch_ids=branches)


def needs_second_factor(request: HttpRequest, role: Role) -> bool:
    """Whether the user still has to give a TOTP code: they have a device and have not
    used it in this session, or they are an owner (owners must have one)."""
    from django_otp import user_has_device  # type: ignore[import-untyped]

    user = request.user
    verified = bool(getattr(user, "is_verified", lambda: False)())
    if verified:
        return False
    return role is Role.OWNER or user_has_device(user)


def panel_page(
    *roles: Role, personal: bool = False
) -> Callable[
    [Callable[Concatenate[PanelRequest, P], HttpResponse]],
    Callable[Concatenate[HttpRequest, P], HttpResponse],
]:
    """A view for panel users of `roles` (none named: any role); `personal`: it shows
    personal data, so support may not open it."""

    def decorate(
        view: Callable[Concatenate[PanelRequest, P], HttpResponse],
    ) -> Callable[Concatenate[HttpRequest, P], HttpResponse]:
        @wraps(view)
        def page(request: HttpRequest, *args: P.args, **kwargs: P.kwargs) -> HttpResponse:
            user = request.user
            if not user.is_authenticated or not user.is_active:
                return redirect_to_login(request.get_full_path())
            panel_user = PanelUser.objects.filter(user_id=user.pk).first()
            if panel_user is None:
                return forbidden(request)
            access = access_of(panel_user)
            if needs_second_factor(request, access.role):
                return redirect_to_login(request.get_full_path())
            if (roles and access.role not in roles) or (personal and not access.sees_personal):
                return forbidden(request)
            request.access = access  # type: ignore[attr-defined]
            return view(request, *args, **kwargs)  # type: ignore[arg-type]

        # Who may open it, for the navigation (may_open): the nav follows the same rule.
        page.panel_roles = roles  # type: ignore[attr-defined]
        page.panel_personal = personal  # type: ignore[attr-defined]
        return page  # type: ignore[return-value]

    return decorate


def may_open(access: Access, view: Callable[..., HttpResponse]) -> bool:
    """Whether `access` may open a page made with `panel_page` (False for any other view):
    what the navigation shows, by the rule the page itself applies."""
    roles: tuple[Role, ...] | None = getattr(view, "panel_roles", None)
    if roles is None:
        return False
    if roles and access.role not in roles:
        return False
    return access.sees_personal or not getattr(view, "panel_personal", False)


def forbidden(request: HttpRequest) -> HttpResponse:
    """The page that says this user's role may not open the page asked for (403)."""
    return TemplateResponse(request, "panel/forbidden.html", status=403)
