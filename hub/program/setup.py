"""First set-up of a chain (`hub migrate`): the owner's key, the chain id, program 1."""

from __future__ import annotations

from django.db import transaction

from hub.program import owner, publish
from hub.program.models import Program
from hub.program.rules import default_program


def first_setup() -> list[str]:
    """Make what a new chain lacks; a line for the person for each thing made."""
    said: list[str] = []
    made_key = False
    try:
        with transaction.atomic():
            made_key = owner.ensure_owner()
            if made_key:
                said.append(
                    f"owner key created: {owner.key_file()} (mode 0600; keep it with the "
                    "backups, never share it: it signs the program and staff for every kiosk)"
                )
            if not Program.objects.exists():
                published = publish.publish_program(default_program())
                said.append(
                    f"program version {published.version} published (the kiosk's defaults; "
                    "hub program show)"
                )
    except BaseException:
        if made_key:  # its row was rolled back: a key file alone would block the next try
            owner.key_file().unlink(missing_ok=True)
        raise
    return said
