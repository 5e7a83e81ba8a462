"""kvalidate: render Kubespray templates as Ansible would and validate every output strictly.

The library API (`kvalidate.api`, loaded on first use so that `import kvalidate.model` stays light):

- `check(CheckRequest(checkout=Path(...), ...)) -> Result`: a Kubespray checkout, per cell and host;
- `validate_paths(paths, kube_version=None, crds=()) -> Result`: rendered YAML files;
- `render(template, extra_vars, validate=False) -> Rendered`: one template, no checkout;
- `Result.findings` are `Finding`s; unusable input raises `SetupError`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kvalidate.model import Finding, Result, SetupError, Severity

if TYPE_CHECKING:
    from kvalidate.api import CheckRequest, Rendered, check, render, validate_paths

__version__ = "0.1.0"

_API = frozenset({"CheckRequest", "Rendered", "check", "render", "validate_paths"})

__all__ = ["CheckRequest", "Finding", "Rendered", "Result", "SetupError", "Severity", "__version__", "check",
           "render", "validate_paths"]


def __getattr__(name: str) -> Any:
    # PEP 562: the API pulls in the Ansible engine (~0.3 s); load it only when it is used
    if name in _API:
        from kvalidate import api

        return getattr(api, name)
    raise AttributeError(f"module 'kvalidate' has no attribute {name!r}")
