"""gunicorn, embedded: `hub serve` runs it with the hub's WSGI application."""

from __future__ import annotations

from typing import Any

from gunicorn.app.base import BaseApplication


class HubServer(BaseApplication):  # type: ignore[misc]  # gunicorn ships no types
    """gunicorn with settings given in code rather than a file or its own command line."""

    def __init__(self, options: dict[str, Any]) -> None:
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        """Take the options given."""
        for name, value in self.options.items():
            self.cfg.set(name, value)

    def load(self) -> Any:
        """The WSGI application, loaded in each worker after the fork."""
        from hub.wsgi import application

        return application
