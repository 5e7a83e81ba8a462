#!/usr/bin/env python3
"""Run test suites kvalidate's authors did not write and print how far kvalidate agrees with them.

    python scripts/kubectl_validate_suite.py PATH_TO_KUBECTL_VALIDATE_CHECKOUT [--kubeconform PATH]

kubectl-validate (github.com/kubernetes-sigs/kubectl-validate) runs the API server's own validation
code. Its `testcases/manifests/*.yaml` each start every document with the `metav1.Status` the
document must produce, as a leading comment; `pkg/cmd/validate_test.go` (TestValidationErrorsIndividually)
reads them, and so does this script, the same way:

- a file is a case when its extension is `.yaml` or `.yml` (so `*.yaml.disabled` is skipped);
- it is split into documents as apimachinery's YAMLReader splits it (a line starting with `---`
  followed by nothing or a comment ends a non-empty document);
- a document holding only comments, blank lines and `---` expects `Success`; any other document
  expects the JSON of its leading `#` lines (leading blank lines skipped, the first character of
  each comment line dropped, up to the first line that is no comment);
- every file is a subtest there (31); a file holding nothing but a document separator
  (`empty.yaml`, a bare `---`, expects one `Success` of nothing) is listed but not counted, so 30
  cases are counted (`empty_with_document.yaml`, comments only, is counted: its document is one).

kvalidate validates each file with the library API (`kvalidate.validate_paths`, the CRDs of
`testcases/crds` as `--crds`, Kubernetes `--kube-version`, default 1.35: what kubectl-validate's
go.mod builds against). A document is refused when kvalidate reports an error finding on one of its
lines. The verdict agrees when the file's expected verdict (refused if any document expects a
Failure) is kvalidate's. Where both refuse, each expected cause is compared with kvalidate's errors in
that document: the field path (`<nil>` or no field: no path) and the message, after dropping
kubectl-validate's own wrapper `failed to retrieve validator: ` and a `line N: ` prefix; kvalidate's
message may add a hint after the server's words (`...: did you mean ConfigMap?`).

One case is read as the API server behaves on create: `error_x_list_map_duplicate_key` expects a
Failure that the API server gives only under server-side apply (on create, duplicate container
ports are a warning, k/k PR #121575); it agrees when kvalidate warns at the expected path.

With `--kubeconform PATH` the script also reads kubeconform's `acceptance.bats` and runs the
comparable tests: one `run bin/kubeconform FLAGS FILES` of fixtures that exist in the checkout,
whose flags only choose what a manifest's verdict is (`-summary`, `-verbose`, `-strict`,
`-kubernetes-version`, `-ignore-missing-schemas`). The others are listed with the reason they are
not comparable: help, flags, stdin, schema locations and caches, output formats, skip/reject
lists, a missing input, kubeconform's default of failing on a missing schema (kvalidate's
`no-schema` is a warning by design), and lenient-mode passes of a fixture a `-strict` test fails
(kvalidate is always strict, as the API server's strict field validation). A Kubernetes version
kvalidate does not bundle (1.20.0) is validated with the nearest bundled minor.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kvalidate import validate_paths
from kvalidate.model import Finding, SetupError, Severity
from kvalidate.schemas.core import bundled_minor, minor_of

DEFAULT_KUBE = "1.35"
WRAPPER = "failed to retrieve validator: "
SSA_ONLY = {"error_x_list_map_duplicate_key"}
YAML_EXTENSIONS = (".yaml", ".yml")


@dataclass
class Cause:
    field: str  # "" when the Status gives no field (or "<nil>")
    message: str


@dataclass
class Chunk:
    """One document as YAMLReader splits it: its lines (1-based, inclusive) and what it expects."""

    first: int
    last: int
    status: str  # "Success" or "Failure"
    causes: list[Cause] = field(default_factory=list)


@dataclass
class CaseResult:
    name: str
    expected: str  # "accepted" / "refused"
    got: str
    agree: bool
    causes: int = 0  # expected causes of refused documents
    paths: int = 0  # of which kvalidate reports the path
    messages: int = 0  # and the message
    note: str = ""
    details: list[str] = field(default_factory=list)  # each cause missed, and what kvalidate said


def split_documents(text: str) -> list[tuple[int, int, list[str]]]:
    """(first line, last line, lines) of each document, as apimachinery's YAMLReader.Read splits."""
    out: list[tuple[int, int, list[str]]] = []
    buf: list[str] = []
    start = 1
    lines = text.split("\n")
    if text.endswith("\n"):
        lines.pop()  # LineReader's last read at EOF is dropped
    for n, line in enumerate(lines, 1):
        if line.startswith("---"):
            rest = line[3:].strip()
            if rest and not rest.startswith("#"):
                raise ValueError(f"line {n}: invalid Yaml document separator: {rest}")
            if buf:
                out.append((start, n - 1, buf))
                buf, start = [], n + 1
                continue
        if not buf:
            start = n
        buf.append(line)
    if buf:  # a separator starting the stream is kept in the document when nothing precedes it
        out.append((start, start + len(buf) - 1, buf))
    return out


def is_empty_document(lines: list[str]) -> bool:
    return all(not s.strip() or s.strip().startswith("#") or s.strip() == "---" for s in lines)


def leading_comment(lines: list[str]) -> str:
    comment: list[str] = []
    for line in lines:
        if not comment and not line.strip():
            continue
        if not line.startswith("#"):
            break
        comment.append(line[1:])
    return "\n".join(comment)


def read_expectations(text: str) -> list[Chunk]:
    chunks = []
    for first, last, lines in split_documents(text):
        if is_empty_document(lines):
            chunks.append(Chunk(first, last, "Success"))
            continue
        status: dict[str, Any] = json.loads(leading_comment(lines))
        causes = [Cause("" if c.get("field") in (None, "<nil>") else c["field"], c.get("message", ""))
                  for c in (status.get("details") or {}).get("causes") or []]
        chunks.append(Chunk(first, last, status.get("status", ""), causes))
    return chunks


def _normal(message: str) -> str:
    message = message.removeprefix(WRAPPER)
    if message.startswith("line ") and ": " in message:
        head, _, rest = message.partition(": ")
        if head[5:].isdigit():
            message = rest
    return message


def _own_message(f: Finding) -> str:
    """A finding's message without the path it starts with (the Status keeps them apart); a finding
    at the object's root starts with the API server's `<nil>: ` (CRD rules on the root)."""
    prefix = f"{f.path}: " if f.path else "<nil>: "
    return f.message[len(prefix):] if f.message.startswith(prefix) else f.message


def message_agrees(expected: str, got: str) -> bool:
    want = _normal(expected)
    return got == want or got.startswith(want + ": ") or got.startswith(want + " (") or (
        want.startswith("key ") and want in got)


def compare(name: str, chunks: list[Chunk], findings: list[Finding]) -> CaseResult:
    expected_refused = any(c.status != "Success" for c in chunks)
    errors = [f for f in findings if f.severity == Severity.ERROR]
    got = "refused" if errors else "accepted"
    res = CaseResult(name, "refused" if expected_refused else "accepted", got, expected_refused == bool(errors))
    for chunk in chunks:
        if chunk.status == "Success":
            continue
        mine = [f for f in findings if chunk.first <= f.line <= chunk.last
                and (f.severity == Severity.ERROR or name in SSA_ONLY)]
        for cause in chunk.causes:
            res.causes += 1
            # a cause without a field is a decoding error: any finding may carry its words
            at = [f for f in mine if f.path == cause.field or not cause.field]
            if at:
                res.paths += 1
            if any(message_agrees(cause.message, _own_message(f)) for f in at):
                res.messages += 1
            else:
                res.details.append(f"expected {cause.field or '(no field)'}: {cause.message}")
                res.details += [f"  kvalidate {f.severity} {f.rule} {f.path or '(no field)'}: {_own_message(f)}"
                                for f in mine] or ["  kvalidate: nothing"]
    if name in SSA_ONLY and not errors and res.causes and res.paths == res.causes:
        res.agree = True
        res.note = "a warning: the API server refuses it only under server-side apply"
    return res


def kubectl_validate_suite(checkout: Path, kube: str) -> tuple[list[CaseResult], list[str]]:
    manifests = checkout / "testcases" / "manifests"
    crds = checkout / "testcases" / "crds"
    results, uncounted = [], []
    for path in sorted(manifests.iterdir()):
        if path.is_dir() or path.suffix.lower() not in YAML_EXTENSIONS:
            continue
        text = path.read_text(encoding="utf-8")
        chunks = read_expectations(text)
        if not text.replace("---", "").strip():
            uncounted.append(f"{path.stem}: nothing but a document separator")
            continue
        with_crds = crds.is_dir() and any(p.suffix in (*YAML_EXTENSIONS, ".json") for p in crds.iterdir())
        result = validate_paths([str(path)], kube_version=kube, crds=[str(crds)] if with_crds else [])
        results.append(compare(path.stem, chunks, result.findings))
    return results, uncounted


# kubeconform ---------------------------------------------------------------------------------------

VERDICT_FLAGS = {"-summary", "-verbose", "-strict", "-ignore-missing-schemas"}
VALUED_FLAGS = {"-kubernetes-version"}


@dataclass
class BatsTest:
    name: str
    runs: list[str]
    status: int | None


def read_bats(text: str) -> list[BatsTest]:
    tests: list[BatsTest] = []
    for block in text.split("@test ")[1:]:
        name = block.split('"', 2)[1]
        runs = [ln.strip()[4:] for ln in block.splitlines() if ln.strip().startswith("run ")]
        status = None
        for ln in block.splitlines():
            if '"$status" -eq' in ln:
                status = int(ln.split("-eq", 1)[1].split("]")[0])
                break
        tests.append(BatsTest(name, runs, status))
    return tests


def comparable(test: BatsTest, root: Path, strict_failures: set[str]) -> tuple[dict[str, Any] | None, str]:
    """(how to run it, "") for a comparable test, else (None, why not)."""
    if len(test.runs) != 1 or test.status is None:
        return None, "more than one command"
    words = shlex.split(test.runs[0])
    if words[0] != "bin/kubeconform":
        return None, "runs a shell pipeline (stdin, environment, output files)"
    args, files = words[1:], []
    strict, kube = False, None
    i = 0
    while i < len(args):
        a = args[i]
        if a in VERDICT_FLAGS:
            strict = strict or a == "-strict"
        elif a in VALUED_FLAGS:
            i += 1
            kube = args[i]
            if args[i].count(".") != 2:
                return None, "about kubeconform's version format (X.Y.Z), not a manifest"
        elif a.startswith("-"):
            return None, f"about kubeconform's own option {a}"
        else:
            files.append(a)
        i += 1
    if not files:
        return None, "about the command line, not a manifest"
    missing = [f for f in files if not (root / f).exists()]
    if missing:
        return None, f"input not in the checkout: {', '.join(missing)}"
    if test.status == 1 and not strict and "-ignore-missing-schemas" not in args and any(
            "crd" in f for f in files):
        return None, "fails only for a missing schema (kvalidate's no-schema is a warning by design)"
    if test.status == 0 and not strict and any(f in strict_failures for f in files):
        return None, "a lenient-mode pass of a fixture a -strict test fails (kvalidate is always strict)"
    if kube is not None:
        try:
            kube = bundled_minor(minor_of(kube))
        except SetupError:
            return None, f"an invalid -kubernetes-version {kube}"
        if not kube.startswith("1."):
            return None, "another distribution's schemas"
    return {"files": [str(root / f) for f in files], "kube": kube, "expect_ok": test.status == 0}, ""


def kubeconform_suite(root: Path) -> tuple[list[CaseResult], list[tuple[str, str]]]:
    tests = read_bats((root / "acceptance.bats").read_text(encoding="utf-8"))
    strict_failures = {f for t in tests if t.status == 1 and t.runs and "-strict" in t.runs[0]
                       for f in shlex.split(t.runs[0])[1:] if f.startswith("fixtures/")}
    results, skipped = [], []
    for t in tests:
        how, why = comparable(t, root, strict_failures)
        if how is None:
            skipped.append((t.name, why))
            continue
        try:
            findings = validate_paths(how["files"], kube_version=how["kube"]).findings
            refused = any(f.severity == Severity.ERROR for f in findings)
            note = ""
        except SetupError as e:  # kvalidate refuses the input itself (exit 2)
            refused, note = True, f"exit 2: {e}"
        expected = "accepted" if how["expect_ok"] else "refused"
        got = "refused" if refused else "accepted"
        results.append(CaseResult(t.name, expected, got, expected == got, note=note))
    return results, skipped


def _table(title: str, results: list[CaseResult], with_causes: bool) -> list[str]:
    head = "| case | expected | kvalidate | agree? |" + (" causes: path / message |" if with_causes else "")
    sep = "|---|---|---|---|" + ("---|" if with_causes else "")
    lines = [f"## {title}", "", head, sep]
    for r in results:
        row = f"| {r.name} | {r.expected} | {r.got} | {'yes' if r.agree else '**no**'}"
        if with_causes:
            row += f" | {r.paths}/{r.causes} / {r.messages}/{r.causes}" if r.causes else " | -"
        lines.append(row + (f" ({r.note})" if r.note else "") + " |")
    return lines


def totals(results: list[CaseResult]) -> str:
    agree = sum(r.agree for r in results)
    causes = sum(r.causes for r in results)
    text = f"{agree}/{len(results)} verdicts agree"
    if causes:
        text += (f"; expected causes: {sum(r.paths for r in results)}/{causes} at the same path, "
                 f"{sum(r.messages for r in results)}/{causes} with the same message")
    return text


def _details(results: list[CaseResult]) -> list[str]:
    out = []
    for r in results:
        if r.details:
            out += [f"- {r.name}{'' if r.agree else ' (verdict disagrees)'}:", *(f"  {d}" for d in r.details)]
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    ap.add_argument("kubectl_validate", type=Path, help="a kubectl-validate checkout")
    ap.add_argument("--kubeconform", type=Path, help="a kubeconform checkout (acceptance.bats, fixtures/)")
    ap.add_argument("--kube-version", default=DEFAULT_KUBE, help=f"Kubernetes minor (default {DEFAULT_KUBE})")
    ap.add_argument("--causes", action="store_true", help="print every expected cause kvalidate words otherwise")
    args = ap.parse_args(argv)
    results, uncounted = kubectl_validate_suite(args.kubectl_validate, args.kube_version)
    out = _table("kubectl-validate testcases/manifests", results, True)
    out += ["", f"Not counted: {'; '.join(uncounted) or 'none'}",
            f"kubectl-validate: {totals(results)}"]
    disagree = [r for r in results if not r.agree]
    out.append("Disagree: " + (", ".join(r.name for r in disagree) if disagree else "none"))
    out += _details(results if args.causes else disagree)
    if args.kubeconform:
        kc, skipped = kubeconform_suite(args.kubeconform)
        out += ["", *_table("kubeconform acceptance.bats (comparable tests)", kc, False), "",
                f"Not comparable ({len(skipped)}):"]
        out += [f"- {name}: {why}" for name, why in skipped]
        out.append(f"kubeconform: {totals(kc)}")
        names = [r.name for r in kc if not r.agree]
        out.append("Disagree: " + (", ".join(names) if names else "none"))
    print("\n".join(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
