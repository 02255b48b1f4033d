"""The panel's members pages' URLs."""

from __future__ import annotations

from django.urls import path

from hub.panel.members import views

app_name = "members"
urlpatterns = [
    path("", views.index, name="index"),
    path("<str:member_id>/", views.member, name="member"),
    path("<str:member_id>/show", views.reveal, name="reveal"),
    path("<str:member_id>/adjust", views.adjust, name="adjust"),
    path("<str:member_id>/cards/<int:card_id>/block", views.block_card, name="block_card"),
    path("<str:member_id>/export", views.export, name="export"),
    path("<str:member_id>/erase", views.erase, name="erase"),
]
