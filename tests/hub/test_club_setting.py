"""The program's phone_page setting as the hub would check it (hub/club/setting.py)."""

from __future__ import annotations

import pytest

from hub.club.setting import phone_page_problem


@pytest.mark.parametrize(
    "given",
    [
        {},
        {"enabled": False},
        {"enabled": True, "url": "https://club.example.ir"},
        {"url": "https://club.example.ir:8443/"},
    ],
)
def test_a_good_setting_passes(given: object):
    assert phone_page_problem(given) is None


@pytest.mark.parametrize(
    ("given", "said"),
    [
        (True, "must be an object"),
        ({"enabled": "no"}, "true or false"),
        ({"show": True}, "unknown field 'show'"),
        ({"url": "http://club.example.ir"}, "https://"),  # a member's code over plain HTTP
        ({"url": "javascript:alert(1)"}, "https://"),
        ({"url": "https://"}, "https://"),
        ({"url": 42}, "https://"),
        ({"url": "https://" + "a" * 200 + ".ir"}, "https://"),
        ({"url": "https://me:secret@club.example.ir"}, "no user"),
        ({"url": "https://club.example.ir/?member=12"}, "no user, query"),
    ],
)
def test_a_bad_setting_is_refused_with_why(given: object, said: str):
    problem = phone_page_problem(given)
    assert problem is not None and said in problem
