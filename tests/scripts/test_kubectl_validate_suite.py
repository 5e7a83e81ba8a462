"""scripts/kubectl_validate_suite.py on small suites written for this test, in the formats of
kubectl-validate's testcases/manifests (Status in a leading comment) and kubeconform's acceptance.bats."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))

import kubectl_validate_suite as suite  # noqa: E402


def status_comment(status: dict[str, object]) -> str:
    return "".join(f"# {line}\n" for line in json.dumps(status, indent=2).splitlines())


FAILURE = {
    "status": "Failure", "reason": "Invalid", "code": 422,
    "details": {"causes": [{"reason": "FieldValueRequired", "field": "metadata.name",
                            "message": "Required value: name or generateName is required"}]},
}
KIND = {"status": "Failure", "code": 500, "details": {"causes": [
    {"message": "failed to retrieve validator: kind secrett not found in v1 groupversion"}]}}
SUCCESS = {"status": "Success", "message": ""}


def test_documents_are_split_as_yamlreader_splits_them() -> None:
    text = "# c\na: 1\n---\n---  # a comment after the separator\nb: 2\n--- \nc: 3"
    # a separator with nothing before it stays in the document (YAMLReader writes it to the buffer)
    assert [(first, last) for first, last, _ in suite.split_documents(text)] == [(1, 2), (4, 5), (7, 7)]
    assert suite.split_documents("---") == [(1, 1, ["---"])]
    with pytest.raises(ValueError, match="invalid Yaml document separator"):
        suite.split_documents("a: 1\n--- b\n")


def test_expectations_are_read_from_the_leading_comment() -> None:
    text = ("\n" + status_comment(FAILURE) + "\n# a note that is not JSON\napiVersion: v1\n---\n"
            "# only a comment\n---\n" + status_comment(SUCCESS) + "apiVersion: v1\n")
    chunks = suite.read_expectations(text)
    assert [(c.status, [(x.field, x.message) for x in c.causes]) for c in chunks] == [
        ("Failure", [("metadata.name", "Required value: name or generateName is required")]),
        ("Success", []),  # a comment-only document expects Success
        ("Success", []),
    ]


def write_case(root: Path, name: str, body: str) -> None:
    (root / "testcases" / "manifests").mkdir(parents=True, exist_ok=True)
    (root / "testcases" / "manifests" / name).write_text(body, encoding="utf-8")


def test_verdicts_paths_and_messages_are_compared(tmp_path: Path) -> None:
    (tmp_path / "testcases" / "crds").mkdir(parents=True)
    write_case(tmp_path, "ok.yaml", status_comment(SUCCESS) + "apiVersion: v1\nkind: ConfigMap\nmetadata:\n"
               "  name: a\n")
    write_case(tmp_path, "missing_name.yaml", status_comment(FAILURE) + "apiVersion: v1\nkind: ConfigMap\n")
    # expected to fail, but the manifest is valid: a disagreement kvalidate must show
    write_case(tmp_path, "wrong.yaml", status_comment(FAILURE) + "apiVersion: v1\nkind: ConfigMap\n"
               "metadata: {name: b}\n")
    write_case(tmp_path, "kind.yaml", status_comment(KIND) + "apiVersion: v1\nkind: secrett\nmetadata: {name: c}\n")
    write_case(tmp_path, "multi.yaml", status_comment(SUCCESS) + "apiVersion: v1\nkind: ConfigMap\n"
               "metadata: {name: d}\n---\n" + status_comment(FAILURE) + "apiVersion: v1\nkind: ConfigMap\n")
    write_case(tmp_path, "empty.yaml", "---")
    write_case(tmp_path, "skipped.yaml.disabled", "not: yaml: at: all")
    results, uncounted = suite.kubectl_validate_suite(tmp_path, "1.35")
    table = {r.name: (r.expected, r.got, r.agree, r.causes, r.paths, r.messages) for r in results}
    assert table == {
        "kind": ("refused", "refused", True, 1, 1, 1),  # kubectl-validate's wrapper is dropped
        "missing_name": ("refused", "refused", True, 1, 1, 1),
        "multi": ("refused", "refused", True, 1, 1, 1),
        "ok": ("accepted", "accepted", True, 0, 0, 0),
        "wrong": ("refused", "accepted", False, 1, 0, 0),
    }
    assert uncounted == ["empty: nothing but a document separator"]
    assert suite.totals(results) == ("4/5 verdicts agree; expected causes: 3/4 at the same path, "
                                     "3/4 with the same message")


def test_a_cause_at_another_path_or_in_other_words_is_counted_apart() -> None:
    chunk = suite.Chunk(1, 9, "Failure", [suite.Cause("data", 'Invalid value: "array": must be of type object')])
    from kvalidate.model import Finding, Severity
    other_words = Finding(Severity.ERROR, "type", "data: Invalid value: []: expected object, got array",
                          path="data", line=3)
    r = suite.compare("c", [chunk], [other_words])
    assert (r.agree, r.paths, r.messages) == (True, 1, 0)
    assert r.details[0] == 'expected data: Invalid value: "array": must be of type object'
    elsewhere = Finding(Severity.ERROR, "type", "x: Invalid value: 1: expected object, got integer", path="x", line=3)
    assert (lambda r: (r.paths, r.messages))(suite.compare("c", [chunk], [elsewhere])) == (0, 0)
    beyond = Finding(Severity.ERROR, "type", "data: Invalid value: 1: x", path="data", line=10)  # next document
    assert suite.compare("c", [chunk], [beyond]).paths == 0


BATS = '''#!/usr/bin/env bats
@test "Pass on a valid file" {
  run bin/kubeconform -summary fixtures/valid.yaml
  [ "$status" -eq 0 ]
}
@test "Fail on an extra field with strict" {
  run bin/kubeconform -strict -kubernetes-version 1.20.0 fixtures/extra.yaml
  [ "$status" -eq 1 ]
}
@test "Pass on an extra field without strict" {
  run bin/kubeconform -summary fixtures/extra.yaml
  [ "$status" -eq 0 ]
}
@test "Skip a kind" {
  run bin/kubeconform -skip ConfigMap fixtures/valid.yaml
  [ "$status" -eq 0 ]
}
@test "Read stdin" {
  run bash -c "cat fixtures/valid.yaml | bin/kubeconform -"
  [ "$status" -eq 0 ]
}
@test "Missing file" {
  run bin/kubeconform fixtures/nope.yaml
  [ "$status" -eq 1 ]
}
@test "Expects a pass kvalidate refuses" {
  run bin/kubeconform fixtures/bad_name.yaml
  [ "$status" -eq 0 ]
}
'''


def test_kubeconform_comparable_cases(tmp_path: Path) -> None:
    (tmp_path / "fixtures").mkdir()
    (tmp_path / "acceptance.bats").write_text(BATS, encoding="utf-8")
    (tmp_path / "fixtures" / "valid.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n")
    (tmp_path / "fixtures" / "extra.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\nx: 1\n")
    (tmp_path / "fixtures" / "bad_name.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: A_}\n")
    results, skipped = suite.kubeconform_suite(tmp_path)
    assert [(r.name, r.expected, r.got, r.agree) for r in results] == [
        ("Pass on a valid file", "accepted", "accepted", True),
        ("Fail on an extra field with strict", "refused", "refused", True),  # 1.20: nearest bundled minor
        ("Expects a pass kvalidate refuses", "accepted", "refused", False),
    ]
    assert dict(skipped) == {
        "Pass on an extra field without strict": "a lenient-mode pass of a fixture a -strict test fails (kvalidate "
                                                 "is always strict)",
        "Skip a kind": "about kubeconform's own option -skip",
        "Read stdin": "runs a shell pipeline (stdin, environment, output files)",
        "Missing file": "input not in the checkout: fixtures/nope.yaml",
    }


def test_main_prints_the_table_and_totals(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_case(tmp_path, "ok.yaml", status_comment(SUCCESS) + "apiVersion: v1\nkind: ConfigMap\nmetadata:\n"
               "  name: a\n")
    write_case(tmp_path, "wrong.yaml", status_comment(FAILURE) + "apiVersion: v1\nkind: ConfigMap\n"
               "metadata: {name: b}\n")
    assert suite.main([str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "| ok | accepted | accepted | yes | - |" in out
    assert "| wrong | refused | accepted | **no** | 0/1 / 0/1 |" in out
    assert "kubectl-validate: 1/2 verdicts agree" in out
    assert "Disagree: wrong\n- wrong (verdict disagrees):\n  expected metadata.name: Required value" in out
