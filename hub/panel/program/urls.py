"""The panel's program pages' URLs: the program, branches and devices, staff."""

from __future__ import annotations

from django.urls import path

from hub.panel.program import devices, staff, views

app_name = "program"
urlpatterns = [
    path("", views.index, name="index"),
    path("devices/", devices.index, name="devices"),
    path("devices/<int:number>/revoke", devices.revoke, name="revoke"),
    path("staff/", staff.index, name="staff"),
    path("staff/<str:staff_id>/", staff.person, name="person"),
]
