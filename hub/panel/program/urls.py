"""The panel's program pages' URLs."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver

app_name = "program"
urlpatterns: list[URLPattern | URLResolver] = []
