"""Reuse across the cells of a real matrix (the CI part of scripts/reuse_diff.py): every cell of the
embedded demo's matrix (templates_under_test/kvalidate.yaml), then the same cells limited to the HA
layout's worker (hostvars of hosts outside --limit, their undefined values with a reason), run with
reuse on (one process, each cell after the others, as a worker runs them) and off: every rendering
byte for byte (with its line map) and every finding of the whole per-cell pipeline are the same, and
most evaluations are reused. The whole master CI matrix: `python scripts/reuse_diff.py CHECKOUT
--config MATRIX --pipeline` (README, Speed)."""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

from kvalidate.api import CheckRequest, plan
from kvalidate.pinned import embedded_demo

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))
from reuse_diff import compare  # noqa: E402


def test_demo_matrix_is_the_same_with_and_without_reuse() -> None:
    demo = embedded_demo()
    cells = plan(CheckRequest(checkout=demo)).cells
    assert len(cells) >= 20
    limited = [replace(c, name=c.name + "-limited", limit="instance-3", fact_cache="none")
               for c in cells if c.layout == "ha"]
    assert limited
    report = compare(demo, [*cells, *limited], pipeline=True)
    assert report.differences == []
    assert report.cells == len(cells) + len(limited)
    assert report.renderings > 10 * report.cells
    assert report.reused > 0.8 * report.done
