"""The `hub` key source: a per-device key the club server keeps (being built: issue 16)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from kiosk.config import KioskConfig
from kiosk.errors import DataKeyUnavailable
from sync.client import CrmClient


class HubKey:
    """The key-encryption key kept by the hub for this device."""

    name = "hub"

    def __init__(
        self,
        config: KioskConfig,
        data_dir: Path,
        client: Callable[[str], CrmClient | None],
    ) -> None:
        self.config = config
        self.data_dir = data_dir
        self.client = client

    def key(self) -> bytes:
        raise DataKeyUnavailable(reason="security.key_source 'hub' is not available yet")
