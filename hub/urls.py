"""The hub's URLs: the protocol under /v2/; every other path is a JSON 404."""

from __future__ import annotations

from django.urls import path

from hub.protocol import holds, storage_key, views

urlpatterns = [
    path("v2/enroll", views.enroll),
    path("v2/push", views.push),
    path("v2/changes", views.changes),
    path("v2/heartbeat", views.heartbeat),
    path("v2/members", views.members),
    path("v2/holds", holds.hold),
    path("v2/holds/<str:client_txn_id>", holds.release),
    path("v2/storage-key", storage_key.storage_key),
]
handler404 = "hub.protocol.wire.not_found"
handler500 = "hub.protocol.wire.server_error"
