#!/usr/bin/env python3
"""Compile every `x-kubernetes-validations` rule of some CRD files with kvalidate's CEL environment,
and optionally run them on custom resources (docs/cel.md, "On Kubespray").

    scripts/cel_crds.py CRD.yaml... [--minors 1.29,1.30,1.31,1.32,1.33,1.34] [--resources FILE_OR_DIR...]
        [--evaluate-minor 1.31] [-v]

Prints one line per compile error (and per rule with -v), then the counts: rules, compilations,
compile errors, transition rules; with --resources, the custom resources of those CRDs found in the
files (directories are searched for *.yaml / *.yml), the rule evaluations run and skipped, the time
per rule evaluation and every problem (`cel-rule`, `cel-error`, `cel-cost`). Exits 1 on a compile
error or a problem. CRD files may be Kubespray templates without Jinja (read as YAML).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kvalidate.cel import compile_rule, evaluate  # noqa: E402
from kvalidate.cel.compile import Compiled, CompileError  # noqa: E402
from kvalidate.model import field_path  # noqa: E402

Rule = tuple[str, dict[str, Any], dict[str, Any], bool]  # (path, rule, node, resource root)


def _rules(node: Any, path: str, root: bool, out: list[Rule]) -> None:
    if not isinstance(node, dict):
        return
    for r in node.get("x-kubernetes-validations") or []:
        out.append((path or "<root>", r, node, root))
    for k, v in (node.get("properties") or {}).items():
        _rules(v, f"{path}.{k}", isinstance(v, dict) and bool(v.get("x-kubernetes-embedded-resource")), out)
    for key in ("items", "additionalProperties"):
        if isinstance(node.get(key), dict):
            _rules(node[key], f"{path}[*]", False, out)
    for sub in node.get("allOf") or []:
        _rules(sub, path, False, out)


def _docs(paths: list[str]) -> list[tuple[str, Any]]:
    files: list[Path] = []
    for p in map(Path, paths):
        files += sorted(x for x in p.rglob("*") if x.suffix in (".yaml", ".yml")) if p.is_dir() else [p]
    out = []
    for f in files:
        try:
            out += [(str(f), d) for d in yaml.safe_load_all(f.read_text(encoding="utf-8")) if isinstance(d, dict)]
        except yaml.YAMLError as e:
            print(f"skipped {f}: {e}", file=sys.stderr)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("crds", nargs="+")
    ap.add_argument("--minors", default="1.29,1.30,1.31,1.32,1.33,1.34")
    ap.add_argument("--resources", nargs="*", default=[])
    ap.add_argument("--evaluate-minor", default="1.31")
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args()
    minors = args.minors.split(",")
    schemas: dict[tuple[str, str], dict[str, Any]] = {}
    rules = compilations = errors = transition = 0
    for _, doc in _docs(args.crds):
        if doc.get("kind") != "CustomResourceDefinition":
            continue
        for ver in doc["spec"]["versions"]:
            schema = (ver.get("schema") or {}).get("openAPIV3Schema") or {}
            schemas[(f"{doc['spec']['group']}/{ver['name']}", doc["spec"]["names"]["kind"])] = schema
            found: list[Rule] = []
            _rules(schema, "", True, found)
            for path, r, node, root in found:
                rules += 1
                for minor in minors:
                    compilations += 1
                    got = compile_rule(r["rule"], node, minor, root=root,
                                       message_expression=r.get("messageExpression") or "")
                    where = f"{doc['metadata']['name']} {ver['name']} {path} (Kubernetes {minor})"
                    if isinstance(got, CompileError):
                        errors += 1
                        print(f"compile error: {where}: {r['rule']!r}: {got.message}")
                    elif minor == minors[-1]:
                        assert isinstance(got, Compiled)
                        transition += got.uses_old_self
                        if args.verbose:
                            print(f"ok: {where}: estimated cost {got.estimated_cost}"
                                  f"{', transition rule' if got.uses_old_self else ''}: {r['rule']!r}")
    print(f"{rules} rules in {len(schemas)} CRD versions, {compilations} compilations ({len(minors)} minors), "
          f"{errors} compile errors, {transition} transition rules (oldSelf)")
    problems = 0
    if args.resources:
        objects = evaluated = skipped = 0
        spent = 0.0
        for f, doc in _docs(args.resources):
            schema = schemas.get((str(doc.get("apiVersion")), str(doc.get("kind"))))
            if schema is None:
                continue
            objects += 1
            t = time.perf_counter()
            outcome = evaluate(schema, doc, args.evaluate_minor)
            spent += time.perf_counter() - t
            evaluated += outcome.evaluated
            skipped += outcome.skipped
            for p in outcome.problems:
                problems += 1
                name = (doc.get("metadata") or {}).get("name")
                print(f"{p.rule_id}: {f}: {doc['kind']} {name}: {field_path(p.path) or '<nil>'}: {p.message}")
        print(f"{objects} custom resources, {evaluated} rule evaluations, {skipped} skipped, {problems} problems, "
              f"{spent:.2f} s ({spent / max(evaluated, 1) * 1e6:.0f} us per rule evaluation, compilation included)")
    return 1 if errors or problems else 0


if __name__ == "__main__":
    sys.exit(main())
