"""The phone page's URLs, under /club/ (hub/urls.py)."""

from __future__ import annotations

from django.urls import path

from hub.club import views

app_name = "club"
urlpatterns = [
    path("", views.start, name="start"),
    path("code", views.code, name="code"),
    path("code/resend", views.resend, name="resend"),
    path("me", views.me, name="me"),
    path("consent", views.consent, name="consent"),
    path("erase", views.erase, name="erase"),
    path("sign-out", views.sign_out, name="sign_out"),
]
