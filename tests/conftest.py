from __future__ import annotations

from pathlib import Path

import pytest

from kvalidate.schemastore import SchemaStore

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def store() -> SchemaStore:
    return SchemaStore.for_version("1.33")
