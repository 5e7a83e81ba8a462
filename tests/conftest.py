from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

# Compiled-template cache of the test run: never the user's ~/.cache (set before kvalidate.ansible loads).
os.environ.setdefault("KVALIDATE_CACHE_DIR", tempfile.mkdtemp(prefix="kvalidate-test-cache-"))

import pytest

from kvalidate.ansible.reuse import forget_all
from kvalidate.schemas.store import SchemaStore

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def _fresh_reuse_stores() -> Iterator[None]:
    """Each test starts with empty reuse stores: a test session runs thousands of unrelated cells in one
    process, and a store near its 400,000-entry bound slowed the hang guards of later tests past 10 s."""
    yield
    forget_all()


@pytest.fixture(scope="session")
def store() -> SchemaStore:
    return SchemaStore.for_version("1.33")
