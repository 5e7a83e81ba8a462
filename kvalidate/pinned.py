"""Where the pinned data lives: the schemas and the embedded default (placeholder until the
packaging change lands: source-checkout paths only)."""

from __future__ import annotations

from pathlib import Path

_ROOT = Path(__file__).resolve().parent.parent


def pinned_schemas() -> Path:
    return _ROOT / "schemas"


def embedded_demo() -> Path:
    return _ROOT / "templates_under_test"
