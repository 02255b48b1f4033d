"""The panel's members pages: search, a member's page, and what is done to a member.

Thin: hub/members/ finds, shows and changes (and refuses what no one may do); these pages
decide who may ask (the roles below) and audit every view and change. A member of a branch
not the viewer's is a 404, as an unknown id is. Changes are POSTs with Django's CSRF
token, and the member's page shows the person masked until someone who may see it presses
"Show" (a POST, audited).

| page | who |
|---|---|
| search, a member's page (masked) | every role (support: never unmasked) |
| show the person, adjust, block a card, export | owner, a manager for their branch's members |
| adjust beyond `max_adjust_points`, erase | the owner |
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from django import forms
from django.http import Http404, HttpResponse
from django.template.response import TemplateResponse
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from hub import audit
from hub.errors import HubError
from hub.members import operations, profile, search
from hub.members.models import Card
from hub.members.typed import read_query
from hub.panel.access import PanelRequest, Role, panel_page
from hub.panel.templatetags.panel import number
from hub.program.publish import current

EDITORS = (Role.OWNER, Role.MANAGER)


class AdjustForm(forms.Form):
    """Points (signed) and why; `txn` makes a form sent twice adjust once."""

    points = forms.IntegerField(label=_("Points (negative to take)"), min_value=-(10**9))
    reason = forms.CharField(label=_("Reason"), max_length=operations.MOST_REASON)
    confirm = forms.BooleanField(label=_("Confirm beyond the program's limit"), required=False)
    txn = forms.CharField(widget=forms.HiddenInput, max_length=64)

    def clean_points(self) -> int:
        """Not zero: an adjustment of nothing is a mistake."""
        points: int = self.cleaned_data["points"]
        if points == 0:
            raise forms.ValidationError(_("Give a number of points other than 0."))
        return points


class EraseForm(forms.Form):
    """The member id, typed again: an erasure cannot be undone."""

    typed = forms.CharField(label=_("Type the member id to confirm"), max_length=100)


@never_cache
@panel_page()
def index(request: PanelRequest) -> HttpResponse:
    """One search box: a phone in any form, a card, part of a name, a member id.

    Sent by POST: what is typed (a phone number, often) stays out of the URL, and so out of
    access logs, proxies' logs and the browser's history.
    """
    text = request.POST.get("q", "").strip() if request.method == "POST" else ""
    found: list[search.Found] = []
    if text:
        found = search.find(text, request.access)
        # What kind of search, never what was typed (a phone number has no place here).
        audit.record(
            request, "member.search", "", {"by": read_query(text).kinds, "found": len(found)}
        )
    return TemplateResponse(
        request, "panel/members/index.html", {"q": text, "found": found, "searched": bool(text)}
    )


def _member_page(
    request: PanelRequest,
    member_id: str,
    *,
    reveal: bool = False,
    adjust_form: AdjustForm | None = None,
    message: str = "",
    error: str = "",
    status: int = 200,
) -> HttpResponse:
    try:
        record = profile.profile(member_id, request.access, reveal=reveal)
        page = profile.history(member_id, request.access, _page_number(request))
    except profile.NotYours:
        raise Http404(str(_("No such member."))) from None
    access = request.access
    cards = list(Card.objects.filter(member_id=record.member_id).order_by("id"))
    context: dict[str, Any] = {
        "member": record,
        "history": page,
        "cards": list(zip(record.cards, [c.pk for c in cards], strict=False)),
        "may_edit": access.role in EDITORS and record.status == "active",
        "may_reveal": access.sees_personal and not record.revealed,
        "may_export": access.role in EDITORS,
        "may_erase": access.role is Role.OWNER and record.status == "active",
        "is_owner": access.role is Role.OWNER,
        "adjust_form": adjust_form or AdjustForm(initial={"txn": uuid.uuid4().hex}),
        "erase_form": EraseForm(),
        "limit": operations.adjust_limit(),
        "tier_name": _tier_name(record.tier),
        "message": message,
        "error": error,
    }
    return TemplateResponse(request, "panel/members/member.html", context, status=status)


def _tier_name(tier_id: str | None) -> str:
    """The tier's name in the page's language, as the program in force names it."""
    program = current()
    if tier_id is None or program is None:
        return tier_id or ""
    persian = (get_language() or "fa").startswith("fa")
    for tier in program.data.get("tiers") or []:
        if tier.get("id") == tier_id:
            first, other = ("name_fa", "name_en") if persian else ("name_en", "name_fa")
            return str(tier.get(first) or tier.get(other) or tier_id)
    return tier_id


def _page_number(request: PanelRequest) -> int:
    text = request.GET.get("page", "1")
    return int(text) if text.isascii() and text.isdigit() and 0 < len(text) < 7 else 1


@never_cache
@panel_page()
def member(request: PanelRequest, member_id: str) -> HttpResponse:
    """A member's page: balance, tier, cards, consent, history; the person masked.

    A refusal is audited too: a manager trying other branches' ids shows in the log.
    """
    try:
        response = _member_page(request, member_id)
    except Http404:
        audit.record(request, "member.view", member_id, {"refused": "not_found"})
        raise
    audit.record(request, "member.view", member_id, {"masked": True})
    return response


@never_cache
@require_POST
@panel_page(*EDITORS, personal=True)
def reveal(request: PanelRequest, member_id: str) -> HttpResponse:
    """The member's page with the person shown (a deliberate press, audited)."""
    response = _member_page(request, member_id, reveal=True)
    audit.record(request, "member.show_personal", member_id)
    return response


@require_POST
@panel_page(*EDITORS)
def adjust(request: PanelRequest, member_id: str) -> HttpResponse:
    """Add or take points with a reason; beyond the limit only the owner may confirm."""
    form = AdjustForm(request.POST)
    if not form.is_valid():
        return _member_page(request, member_id, adjust_form=form, status=400)
    data = form.cleaned_data
    confirmed = bool(data["confirm"]) and request.access.role is Role.OWNER
    try:
        done = operations.adjust(
            member_id,
            data["points"],
            data["reason"],
            request.access,
            actor=f"panel:{request.user.get_username()}",
            client_txn_id=f"panel-{data['txn']}",
            confirmed=confirmed,
        )
    except profile.NotYours:
        raise Http404(str(_("No such member."))) from None
    except operations.AboveLimit as above:
        audit.record(
            request, "member.adjust", member_id, {"points": above.points, "refused": "limit"}
        )
        error = str(
            _(
                "%(points)s points is beyond the program's limit of %(limit)s; "
                "the owner must confirm."
            )
            % {"points": number(above.points), "limit": number(above.limit)}
        )
        return _member_page(request, member_id, adjust_form=form, error=error, status=400)
    except operations.NotEnoughPoints as short:
        error = str(
            _("The member has %(available)s points to take from, not %(asked)s.")
            % {"available": number(short.available), "asked": number(short.asked)}
        )
        return _member_page(request, member_id, adjust_form=form, error=error, status=400)
    except HubError as refused:
        return _member_page(request, member_id, adjust_form=form, error=str(refused), status=400)
    audit.record(
        request,
        "member.adjust",
        done.member_id,
        {"points": done.points, "entry_id": done.entry_id, "confirmed": confirmed},
    )
    message = str(_("Adjusted: %(points)s points. Balance: %(balance)s.")) % {
        "points": number(done.points, "+"),
        "balance": number(done.balance),
    }
    return _member_page(request, member_id, message=message)


@require_POST
@panel_page(*EDITORS)
def block_card(request: PanelRequest, member_id: str, card_id: int) -> HttpResponse:
    """Block one of the member's cards: refused at every kiosk after its next pull."""
    try:
        owner = profile.visible(member_id, request.access)
    except profile.NotYours:
        raise Http404(str(_("No such member."))) from None
    card = Card.objects.filter(pk=card_id, member_id=owner.member_id).first()
    if card is None:
        raise Http404(str(_("No such card.")))
    done = operations.block_card(card.uid, request.access)
    audit.record(request, "member.block_card", done.member_id, {"card": card_id})
    return _member_page(request, member_id, message=str(_("The card is blocked.")))


@never_cache
@panel_page(*EDITORS, personal=True)
def export(request: PanelRequest, member_id: str) -> HttpResponse:
    """Everything held about the member, as a JSON download (an access request)."""
    try:
        data = operations.export(member_id, request.access)
    except profile.NotYours:
        raise Http404(str(_("No such member."))) from None
    audit.record(request, "member.export", data["member_id"])
    response = HttpResponse(
        json.dumps(data, ensure_ascii=False, indent=2), content_type="application/json"
    )
    response["Content-Disposition"] = f'attachment; filename="member-{data["member_id"]}.json"'
    return response


@require_POST
@panel_page(Role.OWNER, personal=True)
def erase(request: PanelRequest, member_id: str) -> HttpResponse:
    """Erase the person everywhere, once the owner has typed the member id again."""
    form = EraseForm(request.POST)
    try:
        target = profile.visible(member_id, request.access)
    except profile.NotYours:
        raise Http404(str(_("No such member."))) from None
    if not form.is_valid() or form.cleaned_data["typed"].strip() != target.member_id:
        error = str(_("Not erased: the member id typed does not match."))
        return _member_page(request, member_id, error=error, status=400)
    done = operations.erase(target.member_id, request.access)
    audit.record(request, "member.erase", done.member_id, {"ids": done.ids})
    return _member_page(request, member_id, message=str(_("The member is erased everywhere.")))
