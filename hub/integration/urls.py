"""The read API's URLs, under /api/v1/."""

from __future__ import annotations

from django.urls import path

from hub.integration import api

urlpatterns = [
    path("members", api.members),
    path("members/<str:member_id>", api.member),
    path("balances", api.balances),
    path("events", api.events),
    path("exports/members.csv", api.members_csv),
    path("exports/entries.csv", api.entries_csv),
]
