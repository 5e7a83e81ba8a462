"""Where kvalidate's own data is: the pinned schemas findings are judged against, and the embedded demo.

Both live at the repository's top level (`schemas/`, `templates_under_test/`). A build maps them into
the package (pyproject.toml, `[tool.setuptools] package-dir`): an installed kvalidate, from a wheel or
an sdist, carries them as `kvalidate/_pinned/` and `kvalidate/_demo/`, found with importlib.resources.
A source checkout (`pip install -e .`, or the tree on PYTHONPATH) has no such folders and reads the
top-level ones. Missing data is a SetupError (exit 2) naming what is missing: without it kvalidate
would check less and say `no-schema`, which is worse than stopping.
"""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

from kvalidate.model import SetupError

PACKAGE = resources.files(__package__ or "kvalidate")  # the installed package (or the source one)
CHECKOUT = Path(__file__).resolve().parent.parent  # the repository, when this is a source checkout


def _locate(packaged: str, top_level: str, needed: tuple[str, ...], what: str) -> Path:
    """`kvalidate/<packaged>` in an installed copy, else `<top_level>` of the source checkout; it
    must hold every name in `needed`, readable (`name/` for a folder)."""
    inside = PACKAGE / packaged
    if isinstance(inside, Path) and inside.is_dir():
        where = inside
    elif (CHECKOUT / "pyproject.toml").is_file() and (CHECKOUT / top_level).is_dir():
        where = CHECKOUT / top_level
    else:
        raise SetupError(f"{what} missing: neither kvalidate/{packaged} (installed copy) nor {top_level}/ "
                         f"(source checkout at {CHECKOUT}) exists; reinstall kvalidate")
    problems = []
    for name in needed:
        try:
            if name.endswith("/"):
                os.scandir(where / name).close()
            else:
                (where / name).open("rb").close()
        except FileNotFoundError:
            problems.append(f"{name} missing")
        except OSError as e:
            problems.append(f"{name} unreadable ({e.strerror or e})")
    if problems:
        raise SetupError(f"{what} incomplete: {', '.join(problems)} in {where}; reinstall kvalidate")
    return where


def pinned_schemas() -> Path:
    """The pinned schema data: `MANIFEST.json`, `components/v1.XX/`, `crds/<project>/<version>/`."""
    return _locate("_pinned", "schemas", ("MANIFEST.json", "components/", "crds/"), "pinned schema data")


def embedded_demo() -> Path:
    """The embedded default of `kvalidate demo`: a Kubespray-shaped checkout with its kvalidate.yaml."""
    return _locate("_demo", "templates_under_test", ("kvalidate.yaml", "roles/"), "embedded demo")
