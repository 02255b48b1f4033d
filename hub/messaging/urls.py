"""The messaging URLs under /sms/: the gateway's callbacks and the opt-out link."""

from __future__ import annotations

from django.urls import path

from hub.messaging import views

urlpatterns = [
    path("<str:gateway>/<str:token>/delivery", views.delivery),
    path("<str:gateway>/<str:token>/inbound", views.inbound),
    path("stop/<str:signed>", views.stop),
]
