from __future__ import annotations

import os
import tempfile
from pathlib import Path

# Compiled-template cache of the test run: never the user's ~/.cache (set before kvalidate.ansible loads).
os.environ.setdefault("KVALIDATE_CACHE_DIR", tempfile.mkdtemp(prefix="kvalidate-test-cache-"))

import pytest

from kvalidate.schemas.store import SchemaStore

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def store() -> SchemaStore:
    return SchemaStore.for_version("1.33")
