from __future__ import annotations

from pathlib import Path

import pytest
from ksfixture import write_checkout


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    return write_checkout(tmp_path / "ks")
