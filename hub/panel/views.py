"""The panel's own pages: sign-in, sign-out and the home page (the dashboard's place)."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from hub import audit
from hub.panel import signin
from hub.panel.access import PanelRequest, panel_page


class SignInForm(forms.Form):
    """Name, password and the authenticator's code, in one form: a refusal never says
    which of them was wrong."""

    username = forms.CharField(label=_("User name"), max_length=150)
    password = forms.CharField(label=_("Password"), max_length=4096, widget=forms.PasswordInput)
    code = forms.CharField(
        label=_("Code from the authenticator app"),
        max_length=12,
        required=False,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "one-time-code"}),
    )


@never_cache
def sign_in(request: HttpRequest) -> HttpResponse:
    """The sign-in page; on success, the page asked for (on this hub only) or the home."""
    form = SignInForm(request.POST if request.method == "POST" else None)
    error = ""
    if request.method == "POST" and form.is_valid():
        outcome = signin.sign_in(
            request,
            form.cleaned_data["username"],
            form.cleaned_data["password"],
            form.cleaned_data["code"],
        )
        if outcome.user is not None:
            return HttpResponseRedirect(_next_page(request))
        error = str(
            _("Too many failed sign-ins. Try again in 15 minutes.")
            if outcome.locked
            else _("The user name, password or code is not right.")
        )
    elif request.method == "POST":
        error = str(_("The user name, password or code is not right."))
    status = 200 if not error else 400
    return TemplateResponse(
        request,
        "panel/sign_in.html",
        {"form": form, "error": error, "next": _next_page(request)},
        status=status,
    )


def _next_page(request: HttpRequest) -> str:
    wanted = request.POST.get("next") or request.GET.get("next") or ""
    safe = url_has_allowed_host_and_scheme(
        wanted, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    return wanted if safe and wanted.startswith("/panel/") else reverse("panel:home")


@require_POST
def sign_out(request: HttpRequest) -> HttpResponse:
    """End the session (a POST with the CSRF token: a link elsewhere cannot sign one out)."""
    if request.user.is_authenticated:
        audit.record(request, "sign_out", request.user.get_username())
    logout(request)
    return redirect(settings.LOGIN_URL)


@panel_page()
def home(request: PanelRequest) -> HttpResponse:
    """The dashboard: its figures from hub/insights, for the reader's branches."""
    from hub.panel.insights.views import dashboard_context

    context = {"today": timezone.localdate(), **dashboard_context(request)}
    return TemplateResponse(request, "panel/dashboard.html", context)
