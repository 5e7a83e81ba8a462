"""The layout docs/architecture.md describes, checked against the code: no import cycle among
kvalidate's modules (function-local imports counted), function-local imports only in cli/ (and the
lazy top-level API, and kvalidate.cel's, which loads celpy on first use), and each package importing
only the packages its row of the table allows."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "kvalidate"

# package -> the packages it may import (docs/architecture.md, "Who may import whom")
ALLOWED: dict[str, set[str]] = {
    "model": set(),
    "versions": set(),
    "pinned": {"model"},
    "catalog": {"model"},
    "defects": {"model"},
    "waivers": {"model", "catalog"},
    "documents": {"model"},
    "trees": {"model"},
    "defaults": set(),
    "cel": {"model", "versions", "defaults"},
    "schemas": {"model", "documents", "pinned", "versions", "cel"},
    "validation": {"model", "documents", "schemas", "cel", "defaults"},
    "rules": {"model", "versions", "catalog", "documents", "validation"},
    "ansible": {"model", "trees"},
    "kubespray": {"model", "trees", "ansible"},
    "run": {"model", "versions", "documents", "defects", "trees", "schemas", "validation", "rules", "ansible",
            "kubespray"},
    "matrix": {"model", "versions", "documents", "trees", "ansible", "kubespray", "run"},
    "report": {"kvalidate", "model", "catalog", "rules", "defects"},
    "api": {"model", "defects", "waivers", "pinned", "ansible", "kubespray", "matrix", "run", "schemas", "trees",
            "validation"},
    "cli": {"model", "defects", "api", "report", "rules", "schemas", "ansible", "matrix", "run"},
    "kvalidate": {"model", "api"},
    "__main__": {"cli"},
}


def _modules() -> dict[str, Path]:
    out = {}
    for p in PACKAGE.rglob("*.py"):
        name = ".".join(p.relative_to(PACKAGE.parent).with_suffix("").parts)
        out[name.removesuffix(".__init__")] = p
    return out


def import_graph() -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    """(module -> modules it imports, module -> those imported inside a function)."""
    mods = _modules()
    edges: dict[str, set[str]] = defaultdict(set)
    local: dict[str, set[str]] = defaultdict(set)
    for name, path in mods.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        in_function = {id(n) for f in ast.walk(tree) if isinstance(f, ast.FunctionDef | ast.AsyncFunctionDef)
                       for n in ast.walk(f)}
        type_only = {id(n) for i in ast.walk(tree) if isinstance(i, ast.If) and "TYPE_CHECKING" in ast.unparse(i.test)
                     for n in ast.walk(i)}
        for node in ast.walk(tree):
            if id(node) in type_only:
                continue
            targets: list[str] = []
            if isinstance(node, ast.ImportFrom) and node.module:
                assert node.level == 0, f"{name}: relative import"
                targets = [f"{node.module}.{a.name}" if f"{node.module}.{a.name}" in mods else node.module
                           for a in node.names]
            elif isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            for t in targets:
                if t in mods and t != name:
                    edges[name].add(t)
                    if id(node) in in_function:
                        local[name].add(t)
    return edges, local


def _package(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in list(edges):
        if v not in index:
            visit(v)
    return out


def test_no_import_cycle() -> None:
    edges, _ = import_graph()
    assert _cycles(edges) == []


def test_the_cycle_finder_finds_cycles() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_function_local_imports_only_in_the_cli() -> None:
    _, local = import_graph()
    offenders = {m: sorted(t) for m, t in local.items()
                 if not m.startswith("kvalidate.cli") and m not in ("kvalidate", "kvalidate.cel")}
    assert offenders == {}


def test_packages_import_only_what_the_architecture_allows() -> None:
    edges, _ = import_graph()
    assert set(_package(m) for m in _modules()) <= set(ALLOWED), "a package missing from the table"
    wrong = sorted(f"{src} -> {dst}" for src, targets in edges.items() for dst in targets
                   if _package(dst) != _package(src) and _package(dst) not in ALLOWED[_package(src)])
    assert wrong == []


def test_the_table_is_in_the_architecture_doc() -> None:
    doc = (PACKAGE.parent / "docs" / "architecture.md").read_text(encoding="utf-8")
    for pkg, allowed in ALLOWED.items():
        row = next((line for line in doc.splitlines() if line.startswith(f"| `{pkg}` |")), None)
        assert row is not None, pkg
        listed = {x.strip(" `") for x in row.split("|")[2].split(",") if x.strip(" `-")}
        assert listed == allowed, pkg
