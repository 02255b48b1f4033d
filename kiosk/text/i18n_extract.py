"""Babel extraction of message keys from kv files (`app.t("key", ...)` in kv rules)."""

from __future__ import annotations

import re
from collections.abc import Collection, Iterator, Mapping
from typing import IO, Any

_CALL = re.compile(rb"""app\.t\(\s*["']([a-z0-9_.]+)["']""")


def extract_kv(
    fileobj: IO[bytes],
    keywords: Mapping[str, Any],
    comment_tags: Collection[str],
    options: Mapping[str, Any],
) -> Iterator[tuple[int, str, str, list[str]]]:
    """Yield (line, funcname, key, comments) for every `app.t("key")` in a kv file."""
    for number, line in enumerate(fileobj, start=1):
        for match in _CALL.finditer(line):
            yield number, "t", match.group(1).decode(), []
