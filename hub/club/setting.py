"""The program's `phone_page` setting (docs/program.md, "The club on the phone"), checked.

Kept here, beside the page it is about, with nothing of the hub imported, so that the
program's rules (hub/program/rules.py `program_problem`) can call it when they list the key:

    if "phone_page" in data:
        problem = phone_page_problem(data["phone_page"])

Kiosks read it in kiosk/ui/qr.py `phone_page_url`.
"""

from __future__ import annotations

from urllib.parse import urlsplit

KEYS = ("enabled", "url")
MOST_URL = 200


def phone_page_problem(given: object) -> str | None:
    """Why `given` is not a phone_page setting (one line), or None."""
    if not isinstance(given, dict):
        return 'phone_page must be an object ({"enabled": true, "url": "https://..."})'
    unknown = sorted(set(given) - set(KEYS))
    if unknown:
        return f"phone_page has an unknown field {unknown[0]!r} (it has: enabled, url)"
    if "enabled" in given and not isinstance(given["enabled"], bool):
        return f"phone_page's enabled must be true or false, not {given['enabled']!r}"
    if "url" in given:
        url = given["url"]
        parts = urlsplit(url) if isinstance(url, str) and len(url) <= MOST_URL else None
        if parts is None or parts.scheme != "https" or not parts.hostname:
            return "phone_page's url must be the hub's public https:// address"
        if parts.username or parts.password or parts.query or parts.fragment:
            return "phone_page's url is the hub's address alone: no user, query or fragment"
    return None
