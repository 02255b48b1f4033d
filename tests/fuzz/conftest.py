"""What every fuzzing test gets: the counts written after it, the template kiosk, the CRM."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fuzz.crm import FuzzCrm
from tests.fuzz.database import Template, make_template
from tests.fuzz.defects import write_counts


@pytest.fixture(autouse=True)
def _write_counts() -> Iterator[None]:
    yield
    write_counts()


# Package-wide, as when the tests were one file: one template and one CRM for all of them.
@pytest.fixture(scope="package")
def template(tmp_path_factory: pytest.TempPathFactory) -> Template:
    return make_template(tmp_path_factory.mktemp("template"))


@pytest.fixture(scope="package")
def crm() -> Iterator[FuzzCrm]:
    server = FuzzCrm()
    server.thread.start()
    yield server
    server.server.shutdown()
    server.server.server_close()
