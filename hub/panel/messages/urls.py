"""The panel's messages pages' URLs (under /panel/messages/)."""

from __future__ import annotations

from django.urls import path

from hub.panel.messages import accounts, campaigns, policy, views

app_name = "messages"
urlpatterns = [
    path("", views.log, name="log"),
    path("<int:message_id>/show", views.reveal, name="reveal"),
    path("templates/", views.templates, name="templates"),
    path("campaigns/", campaigns.campaign_list, name="campaigns"),
    path("campaigns/preview", campaigns.campaign_preview, name="campaign_preview"),
    path("campaigns/send", campaigns.campaign_send, name="campaign_send"),
    path("balance/", accounts.balance, name="balance"),
    path("webhooks/", accounts.webhooks, name="webhooks"),
    path("webhooks/<int:endpoint_id>/active", accounts.webhook_active, name="webhook_active"),
    path("settings/", policy.policy_page, name="settings"),
]
