"""`--emit DIR`: every rendering of a cell written as DIR/HOST/DEST (never into the checkout).

`prepare_emit_dir` runs before any cell (`api.plan`): the directory is created and proven writable,
so a file in the way, `/proc` or a read-only place is one line and exit 2 before the run starts.
A write that still fails during the run (a rendering's path blocked by another's, a full disk)
is a `SetupError` naming the path: the run ends with exit 2, never with a finding per document.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

from kvalidate.model import SetupError
from kvalidate.validation.renderings import RenderingLike, output_path

_PSEUDO = (Path("/proc"), Path("/sys"), Path("/dev"))


def prepare_emit_dir(directory: Path, checkout: Path) -> Path:
    """Create `directory` and prove it writable (a probe file, removed); refuse the checkout, a
    directory holding the checkout (a host or cell name could then reach into it) and /proc, /sys,
    /dev. Returns the resolved directory; SetupError (one line) otherwise."""
    try:
        root = directory.resolve()
    except (OSError, RuntimeError) as e:
        raise SetupError(f"cannot use --emit {directory}: {e}") from e
    checkout = checkout.resolve()
    if root == checkout or checkout in root.parents:
        raise SetupError(f"--emit {directory} is inside the checkout: kvalidate never writes into the checkout")
    if root in checkout.parents:
        raise SetupError(f"--emit {directory} holds the checkout {checkout}: kvalidate never writes into the checkout")
    if any(root == p or p in root.parents for p in _PSEUDO):
        raise SetupError(f"cannot use --emit {directory}: /{root.parts[1]} is not a place for files")
    if root.exists() and not root.is_dir():
        raise SetupError(f"cannot use --emit {directory}: it is a file, not a directory")
    try:
        root.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=root, prefix=".kvalidate-probe-")
        os.close(fd)
        os.unlink(probe)
    except OSError as e:
        raise SetupError(f"cannot write into --emit {directory}: {e.strerror or e}") from e
    return root


def check_emit_names(names: Iterable[str]) -> None:
    """The cell and ref names that become directories under DIR (`run.check`: `/` becomes `_`):
    `.` and `..` would write outside DIR."""
    for name in names:
        if name.replace("/", "_") in (".", ".."):
            raise SetupError(f"cannot use --emit with a cell or ref named {name!r}: it would write outside DIR")


def emit(renderings: Iterable[RenderingLike], directory: Path) -> int:
    """Write every rendering under `directory` (never into the checkout); returns how many.
    A rendering that cannot be written is a SetupError naming it (the run cannot deliver --emit)."""
    n = 0
    if any(part in (".", "..") for part in directory.parts):
        # DIR/REF/CELL: a cell named `..` (a matrix file is untrusted) would move the root up, out of DIR
        raise SetupError(f"cannot write --emit files under {directory}: a cell or ref may not be named '.' or '..'")
    root = directory.resolve()
    for r in renderings:
        path = (root / output_path(r)).resolve()
        if root not in path.parents:
            continue  # a dest with `..` (or a symlink planted in DIR) cannot escape the emit directory
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(r.text, encoding="utf-8", errors="surrogateescape")
        except OSError as e:
            raise SetupError(f"cannot write --emit file {path}: {e.strerror or e}") from e
        n += 1
    return n
