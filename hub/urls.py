"""The hub's URLs: the protocol under /v1/; every other path is a JSON 404."""

from __future__ import annotations

from django.urls import path

from hub.protocol import views

urlpatterns = [
    path("v1/enroll", views.enroll),
    path("v1/push", views.push),
    path("v1/changes", views.changes),
    path("v1/heartbeat", views.heartbeat),
]
handler404 = "hub.protocol.wire.not_found"
handler500 = "hub.protocol.wire.server_error"
