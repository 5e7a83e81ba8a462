"""CRD rules inside `kvalidate validate`: findings at the document's lines, the skipped count in the
summary (text and JSON, read back by `kvalidate merge`). The schema entry carries the CRD's
original schema as `structural` (the CRD-structure work adds that field to SchemaEntry; here a
subclass stands in for it)."""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from kvalidate.report import json_report, text
from kvalidate.schemas.entry import SchemaEntry
from kvalidate.schemas.store import SchemaStore
from kvalidate.validation.validate import validate_paths


@dataclass(frozen=True)
class _CrdEntry(SchemaEntry):
    structural: dict[str, Any] | None = None


SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "apiVersion": {"type": "string"}, "kind": {"type": "string"}, "metadata": {"type": "object"},
        "spec": {"type": "object", "properties": {
            "replicas": {"type": "integer", "x-kubernetes-validations": [
                {"rule": "self <= 5", "message": "at most 5 replicas"},
                {"rule": "self >= oldSelf", "message": "cannot scale down"}]},
            "mode": {"type": "string"}}},
    },
}

DOC = """\
apiVersion: example.com/v1
kind: Widget
metadata:
  name: w
spec:
  mode: fast
  replicas: 7
"""


class _Valid:
    def is_valid(self, _: Any) -> bool:
        return True

    def iter_errors(self, _: Any) -> list[Any]:
        return []


@pytest.fixture
def store(monkeypatch: pytest.MonkeyPatch) -> SchemaStore:
    s = SchemaStore.for_version("1.32")
    entry = _CrdEntry(schema={}, source="test CRD", structural=SCHEMA)
    real = s.validator

    def validator(api_version: str, kind: str) -> Any:
        if (api_version, kind) == ("example.com/v1", "Widget"):
            return entry, _Valid()
        return real(api_version, kind)

    monkeypatch.setattr(s, "validator", validator)
    return s


def test_a_false_rule_is_a_finding_at_its_line_and_skipped_rules_are_counted(tmp_path: Path,
                                                                               store: SchemaStore) -> None:
    f = tmp_path / "w.yaml"
    f.write_text(DOC)
    result = validate_paths([str(f)], store)
    assert [(x.rule, x.line, x.path, x.message) for x in result.findings] == [
        ("cel-rule", 7, "spec.replicas", "spec.replicas: Invalid value: 7: at most 5 replicas")]
    assert result.cel_skipped == 1 and result.summary()["cel_skipped"] == 1
    out = io.StringIO()
    text.write(result, out)
    assert "CRD validation rules not evaluated: 1" in out.getvalue()
    report = tmp_path / "r.json"
    with report.open("w") as fh:
        json_report.write(result, fh)
    assert json.loads(report.read_text())["summary"]["cel_skipped"] == 1
    assert json_report.read(str(report)).cel_skipped == 1


def test_a_type_error_blocks_the_rules_as_on_the_api_server(tmp_path: Path, store: SchemaStore) -> None:
    class _TypeError:
        kind = type("Type", (), {"types": ["integer"]})()
        instance_path = ["spec", "replicas"]
        instance = "x"
        message = "wrong type"

    class _Invalid:
        def is_valid(self, _: Any) -> bool:
            return False

        def iter_errors(self, _: Any) -> list[Any]:
            return [_TypeError()]

    entry = _CrdEntry(schema={}, source="test CRD", structural=SCHEMA)
    store.validator = lambda a, k: (entry, _Invalid())  # type: ignore[method-assign]
    f = tmp_path / "w.yaml"
    f.write_text(DOC)
    assert [x.rule for x in validate_paths([str(f)], store).findings] == ["type"]
