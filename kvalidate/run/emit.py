"""`--emit DIR`: every rendering of a cell written as DIR/HOST/DEST (never into the checkout)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from kvalidate.validation.renderings import RenderingLike, output_path


def emit(renderings: Iterable[RenderingLike], directory: Path) -> int:
    """Write every rendering under `directory` (never into the checkout); returns how many."""
    n = 0
    root = directory.resolve()
    for r in renderings:
        path = (root / output_path(r)).resolve()
        if root not in path.parents:
            continue  # a dest with `..` cannot escape the emit directory
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(r.text, encoding="utf-8")
        n += 1
    return n
