"""The hub's URLs: the protocol under /v2/, the owner's panel under /panel/ (hub/panel/urls.py);
every other path is a JSON 404."""

from __future__ import annotations

from django.urls import include, path

from hub.feedback import views as feedback_views
from hub.panel.urls import language_urls
from hub.protocol import holds, storage_key, verify, views

urlpatterns = [
    path("v2/enroll", views.enroll),
    path("v2/push", views.push),
    path("v2/changes", views.changes),
    path("v2/heartbeat", views.heartbeat),
    path("v2/members", views.members),
    path("v2/holds", holds.hold),
    path("v2/holds/<str:client_txn_id>", holds.release),
    path("v2/storage-key", storage_key.storage_key),
    path("v2/verify", verify.send),
    path("v2/verify/check", verify.check),
    path("v2/feedback", feedback_views.push),
    path("api/v1/", include("hub.integration.urls")),  # the CRM's read API
    path("panel/", include("hub.panel.urls")),
    path("club/", include("hub.club.urls")),  # the member's phone page (docs/club.md)
    # The SMS gateway's callbacks and the opt-out link (docs/messaging.md).
    path("sms/", include("hub.messaging.urls")),
    *language_urls,
]
handler404 = "hub.panel.errors.not_found"
handler500 = "hub.panel.errors.server_error"
