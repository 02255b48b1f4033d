"""The panel's URLs, under /panel/: sign-in, the home page, the audit log, the language, and
each part's own (members, reports, program: hub/panel/<part>/urls.py)."""

from __future__ import annotations

from django.urls import include, path
from django.views.i18n import set_language

from hub.panel import audit_log, views

app_name = "panel"
urlpatterns = [
    path("", views.home, name="home"),
    path("sign-in", views.sign_in, name="sign_in"),
    path("sign-out", views.sign_out, name="sign_out"),
    path("audit/", audit_log.audit_page, name="audit"),
    path("members/", include("hub.panel.members.urls")),
    path("reports/", include("hub.panel.insights.urls")),
    path("program/", include("hub.panel.program.urls")),
    path("messages/", include("hub.panel.messages.urls")),
    path("feedback/", include("hub.panel.feedback.urls")),
]

# Django's own view: checks `next` and sets the language cookie (a POST with CSRF token).
language_urls = [path("panel/language", set_language, name="set_language")]
