"""The panel's campaign pages: a segment, a preview of reach and cost, then a send, once.

The owner only; a send is audited. hub/messaging/campaigns.py queues, this page asks.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any

from django import forms
from django.db import connection, transaction
from django.http import Http404, HttpResponse
from django.shortcuts import redirect
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from hub import audit
from hub.devices.models import Branch
from hub.errors import HubError
from hub.insights.program import current_program, tiers_of
from hub.insights.rfm import SEGMENTS
from hub.messaging import campaigns, limits, segments, texts
from hub.messaging.models import Campaign
from hub.panel.access import PanelRequest, Role, panel_page
from hub.panel.audit_log import DayField, name_action
from hub.panel.insights.views import SEGMENT_NAMES
from hub.panel.messages.views import (
    PER_PAGE,
    SAMPLE_STOP,
    SAMPLES,
    TimeField,
    _render,
)

MOST_TEXT = 600  # a campaign's own text: some nine Persian SMS parts with the rest

name_action("campaign.send", _("Sent a campaign"))


class CampaignForm(forms.Form):
    """The segment, the text in both languages and when; `txn` makes a send go once."""

    tier = forms.ChoiceField(label=_("Tier"), required=False)
    branch = forms.TypedChoiceField(label=_("Branch"), required=False, coerce=int, empty_value=None)
    rfm = forms.ChoiceField(
        label=_("RFM segment"),
        required=False,
        choices=[("", "")] + [(s, SEGMENT_NAMES[s]) for s in SEGMENTS],
    )
    inactive_days = forms.IntegerField(
        label=_("No visit for (days)"),
        required=False,
        min_value=1,
        max_value=segments.MOST_INACTIVE_DAYS,
    )
    text_fa = forms.CharField(label=_("Text in Persian"), max_length=MOST_TEXT)
    text_en = forms.CharField(label=_("Text in English"), max_length=MOST_TEXT)
    day = DayField(label=_("Day (empty: now)"), required=False)
    at = TimeField(label=_("Time"), required=False)
    txn = forms.CharField(widget=forms.HiddenInput, max_length=64)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        persian = (get_language() or "fa").startswith("fa")
        tiers = tiers_of(current_program())
        tier_field = self.fields["tier"]
        assert isinstance(tier_field, forms.ChoiceField)
        tier_field.choices = [("", "")] + [
            (t.id, t.name_fa if persian else t.name_en) for t in tiers
        ]
        branch_field = self.fields["branch"]
        assert isinstance(branch_field, forms.ChoiceField)
        branch_field.choices = [("", "")] + [
            (b.pk, b.name) for b in Branch.objects.order_by("name")
        ]

    def clean_txn(self) -> str:
        txn: str = self.cleaned_data["txn"]
        if not (txn.isascii() and txn.isalnum()):
            raise forms.ValidationError("bad key")
        return txn

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        day, at = data.get("day"), data.get("at")
        if at is not None and day is None:
            self.add_error("day", _("Give the day too."))
        if day is not None:
            zone = timezone.get_current_timezone()
            moment = datetime.combine(day, at or time(9, 0), zone)
            now = timezone.now()
            if moment < now - timedelta(minutes=1):
                self.add_error("day", _("That time has passed."))
            elif moment > now + timedelta(days=60):
                self.add_error("day", _("Choose a time within 60 days."))
            data["when"] = moment
        else:
            data["when"] = None
        return data

    def segment(self) -> segments.Segment:
        data = self.cleaned_data
        return segments.Segment(
            tier=data["tier"] or None,
            branch_id=data["branch"],
            rfm=data["rfm"] or None,
            inactive_days=data["inactive_days"],
        )


@dataclass(frozen=True)
class Reach:
    """A campaign's preview over both languages."""

    members: int
    refused: int
    parts: int
    cost: int
    sample_fa: str
    sample_en: str


def _reach(form: CampaignForm) -> tuple[Reach, list[tuple[str, str]]]:
    found = segments.members(form.segment())
    data = form.cleaned_data
    totals = [0, 0, 0, 0]
    for language in ("fa", "en"):
        ids = [m for m, lang in found if lang == language]
        shown = campaigns.preview_campaign(ids, values={"text": data[f"text_{language}"]})
        for i, figure in enumerate((shown.members, shown.without_consent, shown.parts, shown.cost)):
            totals[i] += figure
    rules = limits.policy()
    samples = []
    for language in ("fa", "en"):
        values = {"shop": rules.shop_name, "name": SAMPLES[language]["name"], "stop": SAMPLE_STOP}
        values["text"] = data[f"text_{language}"]
        samples.append(texts.render(texts.wording("campaign", language), values))
    members, refused, total_parts, cost = totals
    return Reach(members, refused, total_parts, cost, samples[0], samples[1]), found


def _campaign_list() -> list[dict[str, Any]]:
    shown = list(Campaign.objects.order_by("-id")[:PER_PAGE])
    counts: dict[str, dict[str, int]] = {}
    if shown:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT split_part(key, ':', 2), state, count(*) FROM hub_message"
                " WHERE kind = 'campaign' AND split_part(key, ':', 2) = ANY(%s)"
                " GROUP BY 1, 2",
                [[c.name for c in shown]],
            )
            for name, state, count in cursor.fetchall():
                counts.setdefault(name, {})[state] = int(count)
    rows = []
    for c in shown:
        by_state = counts.get(c.name, {})
        rows.append(
            {
                "campaign": c,
                "segment": _segment_words(c.segment),
                "queued": by_state.get("queued", 0) + by_state.get("sending", 0),
                "sent": by_state.get("sent", 0),
                "delivered": by_state.get("delivered", 0),
                "failed": by_state.get("failed", 0) + by_state.get("expired", 0),
                "cancelled": by_state.get("cancelled", 0),
            }
        )
    return rows


def _segment_words(segment: dict[str, Any]) -> list[tuple[str, str]]:
    """A segment's filters as (what, which) in the page's language; `every member` alone
    for none (the template puts each `which`, a branch's name perhaps, in a <bdi>)."""
    from hub.panel.templatetags.panel import digits

    words: list[tuple[str, str]] = []
    if segment.get("tier"):
        persian = (get_language() or "fa").startswith("fa")
        names = {t.id: (t.name_fa if persian else t.name_en) for t in tiers_of(current_program())}
        words.append((str(_("Tier")), names.get(segment["tier"], segment["tier"])))
    if segment.get("branch_id") is not None:
        branch = Branch.objects.filter(pk=segment["branch_id"]).first()
        words.append((str(_("Branch")), branch.name if branch else str(segment["branch_id"])))
    if segment.get("rfm"):
        words.append(
            (str(_("RFM segment")), str(SEGMENT_NAMES.get(segment["rfm"], segment["rfm"])))
        )
    if segment.get("inactive_days"):
        words.append((str(_("No visit for (days)")), digits(segment["inactive_days"])))
    return words or [("", str(_("every member")))]


@never_cache
@panel_page(Role.OWNER)
def campaign_list(request: PanelRequest) -> HttpResponse:
    """The campaigns sent, with their messages' states, and the form for a new one."""
    form = CampaignForm(initial={"txn": uuid.uuid4().hex})
    return _render(request, "campaigns.html", {"form": form, "campaigns": _campaign_list()})


@require_POST
@panel_page(Role.OWNER)
def campaign_preview(request: PanelRequest) -> HttpResponse:
    """Who the campaign reaches, who refused marketing, its parts and cost: nothing queued."""
    form = CampaignForm(request.POST)
    if not form.is_valid():
        context = {"form": form, "campaigns": _campaign_list()}
        return _render(request, "campaigns.html", context, status=400)
    try:
        reach, _found = _reach(form)
    except HubError:
        raise Http404(str(_("No such segment."))) from None
    return _render(
        request,
        "campaigns.html",
        {
            "form": form,
            "reach": reach,
            "when": form.cleaned_data["when"],
            "segment_words": _segment_words(form.segment().describe()),
            "campaigns": _campaign_list(),
        },
    )


@require_POST
@panel_page(Role.OWNER)
def campaign_send(request: PanelRequest) -> HttpResponse:
    """Queue the campaign previewed (its form's key: sent twice, it queues once)."""
    form = CampaignForm(request.POST)
    if not form.is_valid():
        context = {"form": form, "campaigns": _campaign_list()}
        return _render(request, "campaigns.html", context, status=400)
    data = form.cleaned_data
    name = data["txn"]
    if not Campaign.objects.filter(name=name).exists():
        try:
            reach, found = _reach(form)
        except HubError:
            raise Http404(str(_("No such segment."))) from None
        when = data["when"] or timezone.now()
        with transaction.atomic():
            campaign, made = Campaign.objects.get_or_create(
                name=name,
                defaults={
                    "created_by": request.user.get_username(),
                    "not_before": when,
                    "segment": form.segment().describe(),
                    "text_fa": data["text_fa"],
                    "text_en": data["text_en"],
                    "reached": reach.members,
                    "refused": reach.refused,
                    "parts": reach.parts,
                    "cost": reach.cost,
                },
            )
        if made:
            queued = 0
            for language in ("fa", "en"):
                queued += campaigns.queue_campaign(
                    [m for m, lang in found if lang == language],
                    name=name,
                    values={"text": data[f"text_{language}"]},
                    not_before=when,
                )
            Campaign.objects.filter(pk=campaign.pk).update(queued=queued)
            audit.record(
                request,
                "campaign.send",
                name,
                {
                    "segment": campaign.segment,
                    "queued": queued,
                    "cost": reach.cost,
                    "at": when.isoformat(),
                },
            )
    return redirect("panel:messages:campaigns")
