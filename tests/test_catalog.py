"""The rule registry: every rule id any code path emits is registered (found by reading the code,
so a new finding kind cannot slip past), every registered id is emitted somewhere, and
docs/rules.md is generated from the registry."""

from __future__ import annotations

import ast
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from kvalidate.catalog import PROJECT_URL, RULES_DOC, help_uri
from kvalidate.cli import main
from kvalidate.rules import registry

PACKAGE = Path(__file__).resolve().parent.parent / "kvalidate"
ROOT = PACKAGE.parent

# call name -> index of its rule-id argument (and its keyword name)
_RULE_ARG = {"Finding": 1, "finding": 1, "_finding": 1, "YamlProblem": 0, "Problem": 2}


def _call_name(node: ast.Call) -> str:
    f = node.func
    return f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else ""


def _literals(node: ast.AST | None, scope: ast.AST) -> set[str]:
    """String constants `node` can be: itself, or what its name is assigned in `scope`."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return {node.value}
    if isinstance(node, ast.IfExp):
        return _literals(node.body, scope) | _literals(node.orelse, scope)
    if isinstance(node, ast.Name):
        out: set[str] = set()
        for a in ast.walk(scope):
            if isinstance(a, ast.Assign):
                for target in a.targets:
                    if isinstance(target, ast.Name) and target.id == node.id:
                        out |= _literals(a.value, scope)
                    elif isinstance(target, ast.Tuple) and isinstance(a.value, ast.Tuple):
                        for t, v in zip(target.elts, a.value.elts, strict=False):
                            if isinstance(t, ast.Name) and t.id == node.id:
                                out |= _literals(v, scope)
        return out
    return set()


def emitted_ids() -> dict[str, str]:
    """rule id -> where it is emitted, for every literal rule id in kvalidate's code."""
    out: dict[str, str] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        where = str(path.relative_to(ROOT))
        scopes = [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]
        for node in ast.walk(tree):
            if isinstance(node, ast.Assign) and path.parent.name == "rules" and any(
                    isinstance(t, ast.Name) and t.id == "ID" for t in node.targets):
                for v in _literals(node.value, tree):
                    out.setdefault(v, where)
        for scope in [tree, *scopes]:
            for node in ast.walk(scope):
                if not isinstance(node, ast.Call):
                    continue
                name = _call_name(node)
                if name == "Finding" or (name in _RULE_ARG and path.name != "context.py"):
                    idx = _RULE_ARG[name]
                    args: list[ast.AST | None] = [k.value for k in node.keywords if k.arg == "rule"]
                    if len(node.args) > idx:
                        args.append(node.args[idx])
                    for a in args:
                        for v in _literals(a, scope):
                            out.setdefault(v, f"{where}:{node.lineno}")
            if isinstance(scope, ast.FunctionDef) and scope.name == "rule_of":
                for ret in ast.walk(scope):
                    if isinstance(ret, ast.Return):
                        for v in _literals(ret.value, scope):
                            out.setdefault(v, where)
    return out


def test_the_scan_sees_each_family() -> None:
    found = emitted_ids()
    for rid in ("yaml-syntax", "unknown-field", "quantity", "api-validation", "undefined-variable", "render-error",
                "load-error", "task-failed", "internal-error", "node-local-cluster-config"):
        assert rid in found, rid


def test_every_emitted_rule_id_is_registered() -> None:
    known = registry()
    missing = {rid: where for rid, where in emitted_ids().items() if rid not in known}
    assert missing == {}


def test_every_registered_rule_id_is_emitted() -> None:
    assert sorted(set(registry()) - set(emitted_ids())) == []


def test_every_rule_is_documented() -> None:
    for info in registry().values():
        assert info.summary.endswith(".") and len(info.summary) > 20, info.id


def test_docs_rules_md_is_generated_from_the_registry() -> None:
    run = subprocess.run([sys.executable, str(ROOT / "scripts" / "gen_rules_doc.py"), "--check"],
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stderr


def test_rules_command_lists_every_rule(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rules"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert sorted(line.split()[0] for line in lines) == sorted(registry())
    assert any(line.split()[:3] == ["no-schema", "schema", "warning"] for line in lines)


def test_help_uri_is_the_rules_doc_of_the_project_url() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert project["urls"]["Homepage"] == PROJECT_URL
    doc = (ROOT / RULES_DOC).read_text(encoding="utf-8").splitlines()
    for rid in registry():
        assert f"### {rid}" in doc  # GitHub's anchor of that heading is the id itself
        assert help_uri(rid) == f"{PROJECT_URL}/blob/main/docs/rules.md#{rid}"
