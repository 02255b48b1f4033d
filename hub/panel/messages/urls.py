"""The panel's messages pages' URLs (under /panel/messages/)."""

from __future__ import annotations

from django.urls import path

from hub.panel.messages import policy, views

app_name = "messages"
urlpatterns = [
    path("", views.log, name="log"),
    path("<int:message_id>/show", views.reveal, name="reveal"),
    path("templates/", views.templates, name="templates"),
    path("campaigns/", views.campaign_list, name="campaigns"),
    path("campaigns/preview", views.campaign_preview, name="campaign_preview"),
    path("campaigns/send", views.campaign_send, name="campaign_send"),
    path("balance/", views.balance, name="balance"),
    path("webhooks/", views.webhooks, name="webhooks"),
    path("webhooks/<int:endpoint_id>/active", views.webhook_active, name="webhook_active"),
    path("settings/", policy.policy_page, name="settings"),
]
