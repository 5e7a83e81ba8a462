"""Version strings as Kubernetes and Kubespray write them: `v1.33.4`, `1.33`, `3.29.1`. Imports nothing."""

from __future__ import annotations

import re
from typing import Any

_MINOR = re.compile(r"v?(\d+)\.(\d+)")
_STRICT_MINOR = re.compile(r"v?(\d+)\.(\d+)(?:\.\d+)?")


def minor(value: Any) -> str | None:
    """The minor a version starts with: `v1.33.4` (a rendered kube_version) -> `1.33`; None if none."""
    m = _MINOR.match(str(value or ""))
    return f"{m.group(1)}.{m.group(2)}" if m else None


def minor_key(text: str) -> tuple[int, int]:
    """`1.33`, `v1.33` or `1.33.2` -> (1, 33), for sorting and comparing minors; ValueError otherwise."""
    m = _STRICT_MINOR.fullmatch(text.strip())
    if not m:
        raise ValueError(f"not a Kubernetes minor: {text!r}")
    return int(m.group(1)), int(m.group(2))


def version_key(text: str) -> tuple[int, ...]:
    """`v3.29.1` -> (3, 29, 1); a part that is not a number counts as 0 (`3.30.0-rc1` -> (3, 30, 0))."""
    return tuple(int(p) if p.isdigit() else 0 for p in text.lstrip("v").split("."))
