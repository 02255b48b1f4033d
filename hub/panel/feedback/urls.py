"""The panel's feedback pages' URLs (under /panel/feedback/)."""

from __future__ import annotations

from django.urls import path

from hub.panel.feedback import views

app_name = "feedback"
urlpatterns = [
    path("", views.index, name="index"),
]
