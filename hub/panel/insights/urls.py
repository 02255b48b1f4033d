"""The panel's reports' URLs (under /panel/reports/); `?format=csv` downloads a report."""

from __future__ import annotations

from django.urls import path

from hub.panel.insights import views

app_name = "insights"
urlpatterns = [
    path("", views.index, name="index"),
    path("visits/", views.visits, name="visits"),
    path("tiers/", views.tiers, name="tiers"),
    path("rewards/", views.rewards, name="rewards"),
    path("segments/", views.segments, name="segments"),
    path("inactive/", views.inactive, name="inactive"),
    path("birthdays/", views.birthdays, name="birthdays"),
]
