"""Generic Ansible semantics (ansible-core 2.18), nothing Kubespray-specific.

Public API:

- `Engine(tree, inventory, extra_vars=..., env=..., simulator=..., limit=..., fact_cache=...)` and
  `Engine.run_playbook(path) -> RunResult(renderings, findings)`: a playbook run over an
  inventory, every `template` task and `lookup('template')` as a `Rendering`; `limit` is an
  ansible-playbook `--limit` pattern, `fact_cache` what a fact cache holds (`Engine.fact_cache()`
  of an earlier run).
- `Inventory.from_data(...)` / `load_inventory(tree, path)`: inventories from plain data or a file.
- `ModuleCall`, `Simulator`, `DEFAULT_RESULT`: the hook for modules that would touch a machine.
- `render_template(path, extra_vars)`: one template, no checkout (the `kvalidate render` command);
  `render_template_mapped` also gives the output's `LineMap` (template line of each output line).
- `parse_extra_vars(specs)`: `-e` arguments as ansible-playbook reads them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from kvalidate.ansible import private_home  # noqa: F401 - first: ansible-core's dirs, before ansible is imported

# isort: split

from kvalidate.ansible import coreconfig  # noqa: F401 - next: ansible.constants with base.yml from the cache

# isort: split

import yaml
from ansible.parsing.splitter import parse_kv

from kvalidate.ansible.engine import Engine
from kvalidate.ansible.errors import render_finding
from kvalidate.ansible.inventory import Inventory
from kvalidate.ansible.inventory_file import load_inventory
from kvalidate.ansible.lookups.core import CHECKOUT_ROOT, include_loader, template_vars
from kvalidate.ansible.types import DEFAULT_RESULT, ModuleCall, Rendering, RunResult, Simulator
from kvalidate.model import Finding, LineMap, SetupError
from kvalidate.trees.directory import DirTree

__all__ = ["DEFAULT_RESULT", "Engine", "Finding", "Inventory", "ModuleCall", "Rendering", "RunResult",
           "Simulator", "load_inventory", "parse_extra_vars", "render_template", "render_template_mapped"]


def parse_extra_vars(specs: Iterable[str], files: Iterable[Path] = ()) -> dict[str, Any]:
    """`--vars FILE` (YAML) first, then `-e` specs in the order given (`k=v k2=v2`, `@file`, or a
    YAML/JSON mapping), a later one winning, as `ansible-playbook -e` merges them. `k=v` values stay
    strings. Anything unreadable is a one-line SetupError.

    Text that is not UTF-8 (an `-e` argument with invalid bytes, which Python hands over as lone
    surrogates, or a vars file) is unusable input, a SetupError naming it: these are the user's own
    command line, not content under check, and a value that cannot be written as UTF-8 would only
    fail later in every template that uses it."""
    out: dict[str, Any] = {}
    for f in files:
        out.update(_vars_file(f))
    for spec in specs:
        if _not_utf8(spec):
            raise SetupError(f"extra vars {_shown(spec)} are not valid UTF-8")
        if spec.startswith("@"):
            out.update(_vars_file(Path(spec[1:])))
        elif spec.lstrip().startswith(("{", "[")):
            try:
                data = yaml.safe_load(spec)
            except yaml.YAMLError as e:
                raise SetupError(f"extra vars {spec!r} are not valid YAML/JSON: {_one_line(e)}") from e
            if not isinstance(data, Mapping):
                raise SetupError(f"extra vars {spec!r} are not a mapping")
            out.update(data)
        else:
            out.update(parse_kv(spec))
    bad = _first_not_utf8(out)
    if bad is not None:  # a YAML/JSON "\udcff" escape: no UTF-8 text can hold it
        raise SetupError(f"extra vars hold text that is not valid UTF-8 (a lone surrogate): {_shown(bad)}")
    return out


def _not_utf8(text: str) -> bool:
    if text.isascii():
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _shown(text: str) -> str:
    """`text` printable on any terminal: invalid bytes as `\\xff`, lone surrogates as `\\ud800`."""
    raw = text.encode("utf-8", "surrogateescape" if _escapes_only(text) else "backslashreplace")
    return "'" + raw.decode("utf-8", "backslashreplace") + "'"


def _escapes_only(text: str) -> bool:
    return all(0xDC80 <= ord(c) <= 0xDCFF for c in text if 0xD800 <= ord(c) <= 0xDFFF)


def _first_not_utf8(data: Any) -> str | None:
    """The first key or string in extra vars that cannot be written as UTF-8, or None."""
    stack = [data]
    while stack:
        v = stack.pop()
        if isinstance(v, str):
            if _not_utf8(v):
                return v
        elif isinstance(v, Mapping):
            stack.extend(v.keys())
            stack.extend(v.values())
        elif isinstance(v, list | tuple):
            stack.extend(v)
    return None


def _one_line(e: Exception) -> str:
    return " ".join(str(e).split())


def _vars_file(f: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(f.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as e:
        raise SetupError(f"cannot read vars file {f}: {_one_line(e)}") from e
    except UnicodeDecodeError as e:
        raise SetupError(f"cannot read vars file {f}: not valid UTF-8 (byte 0x{e.object[e.start]:02x} at offset "
                         f"{e.start})") from e
    if data is not None and not isinstance(data, Mapping):
        raise SetupError(f"vars file {f} is not a mapping")
    return dict(data or {})


def render_template(path: Path, extra_vars: Mapping[str, Any] | None = None,
                    env: Mapping[str, str] | None = None) -> tuple[str | None, list[Finding]]:
    """Render one template file as the `template` module would, with `extra_vars` as extra vars,
    for host `localhost`. Lookups read only the template's directory. Returns (text or None, findings)."""
    text, _, findings = render_template_mapped(path, extra_vars, env)
    return text, findings


def render_template_mapped(path: Path, extra_vars: Mapping[str, Any] | None = None,
                           env: Mapping[str, str] | None = None) -> tuple[str | None, LineMap | None, list[Finding]]:
    """`render_template`, with the line map of the text (None when it did not render). Templates
    it includes are read from the template's directory; the map names them by their path there."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise SetupError(f"cannot read template {path}: {e.strerror or e}") from e
    tree = DirTree(path.resolve().parent)
    engine = Engine(tree, Inventory.from_data({"localhost": []}), extra_vars=extra_vars, env=env)
    engine.lookup_env.search_dirs = [CHECKOUT_ROOT]
    engine.current = {"host": "localhost", "task": "render", "role": "", "item": None}
    name = str(path)
    try:
        out, lines = engine.templar.render_file_mapped(text, engine.play_scope("localhost"), name,
                                                       template_vars(name, None),
                                                       include_loader(engine.lookup_env, path.name))
    except Exception as e:
        f = render_finding(e, template=name, host="localhost")
        if f.template not in ("", name):  # an included template, named by its path beside this one
            f = replace(f, template=str(path.parent / f.template), file=str(path.parent / f.file))
        return None, None, [f]
    return out, lines, engine.result.findings
