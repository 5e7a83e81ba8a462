"""pipeline.py: renderings -> findings with template, host, cell; dedupe; emit; template lines."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from kvalidate.model import LineMap
from kvalidate.run.emit import emit
from kvalidate.schemas.store import SchemaStore
from kvalidate.validation.renderings import check_renderings, output_path
from kvalidate.validation.source_map import template_line
from kvalidate.versions import minor as kube_minor

TEMPLATE = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: calico-typha
spec:
  selector: {matchLabels: {k8s-app: calico-typha}}
  template:
    metadata: {labels: {k8s-app: calico-typha}}
    spec:
      containers:
        - name: calico-typha
          image: "{{ typha_image }}"
          volumeMounts:
            - name: typha-server
              mountPath: /etc/typha
{% if typha_secure %}
            - name: TYPHA_CAFILE
              value: "/etc/ca/{{ ca_file }}"
{% endif %}
"""
RENDERED = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: calico-typha
spec:
  selector: {matchLabels: {k8s-app: calico-typha}}
  template:
    metadata: {labels: {k8s-app: calico-typha}}
    spec:
      containers:
        - name: calico-typha
          image: "quay.io/calico/typha:v3.28.1"
          volumeMounts:
            - name: typha-server
              mountPath: /etc/typha
            - name: TYPHA_CAFILE
              value: "/etc/ca/ca.crt"
"""


@dataclass(frozen=True)
class R:
    template: str
    dest: str
    host: str
    text: str
    role: str = "network_plugin/calico"
    via: str = "template"
    lines: LineMap | None = None


def test_findings_carry_template_line_host_cell(store: SchemaStore) -> None:
    renderings = [R("roles/network_plugin/calico/templates/calico-typha.yml.j2", "/etc/kubernetes/calico-typha.yml",
                    h, RENDERED) for h in ("node1", "node2")]
    result = check_renderings(renderings, store, cell="typha", ref="release-2.27",
                              template_text=lambda path: TEMPLATE)
    unknown = [f for f in result.findings if f.rule == "unknown-field"]
    assert [(f.host, f.line, f.template_line, f.cell, f.ref) for f in unknown] == [
        ("node1", 17, 18, "typha", "release-2.27"), ("node2", 17, 18, "typha", "release-2.27")]
    assert unknown[0].file == "node1/etc/kubernetes/calico-typha.yml"
    assert unknown[0].path == "spec.template.spec.containers[0].volumeMounts[1].value"
    assert result.documents == 2 and result.files == 2


def test_the_recorded_line_map_is_used_not_the_text(store: SchemaStore) -> None:
    """A rendering with a map gets its template lines from it (here deliberately not what text
    matching would say), and a line an included template wrote names that template."""
    lines = LineMap(tuple(range(101, 101 + RENDERED.count("\n"))),
                    tuple("roles/x/templates/part.j2" if i == 16 else "" for i in range(RENDERED.count("\n"))))
    r = R("roles/network_plugin/calico/templates/calico-typha.yml.j2", "/etc/kubernetes/calico-typha.yml",
          "node1", RENDERED, lines=lines)
    unknown = [f for f in check_renderings([r], store, template_text=lambda path: TEMPLATE).findings
               if f.rule == "unknown-field"]
    assert [(f.line, f.template, f.template_line) for f in unknown] == [(17, "roles/x/templates/part.j2", 117)]


def test_non_yaml_outputs_are_not_parsed(store: SchemaStore) -> None:
    r = R("roles/etcd/templates/etcd.env.j2", "/etc/etcd.env", "node1", "ETCD_NAME=etcd1\nkey: [\n")
    result = check_renderings([r], store)
    assert result.findings == [] and result.files == 1 and result.documents == 0


@pytest.mark.parametrize(
    ("text", "rules"),
    [("a: 1\nb: 2\na: 3\n", ["duplicate-key"]), ("a: 1\n", []), ("[1, 2]\n", []), ("kind: Pod\n", ["missing-kind"]),
     ("apiVersion: v1\n", ["missing-kind"])],
)
def test_yaml_without_kind_is_checked_for_duplicates_only(store: SchemaStore, text: str, rules: list[str]) -> None:
    r = R("roles/network_plugin/cilium/templates/values.yaml.j2", "/etc/kubernetes/cilium-values.yaml", "node1", text)
    assert [f.rule for f in check_renderings([r], store).findings] == rules


def test_copy_content_is_typed_by_its_destination(store: SchemaStore) -> None:
    r = R("roles/etcd/tasks/gen_certs_script.yml", "/etc/ssl/etcd/ssl/ca.pem", "node1", "-----BEGIN x\n", via="copy")
    assert check_renderings([r], store).documents == 0


@pytest.mark.parametrize(
    ("via", "dest", "expected"),
    [("template", "/etc/kubernetes/kubeadm-config.yaml", "node1/etc/kubernetes/kubeadm-config.yaml"),
     ("lookup", "", "node1/_lookup/network_plugin/calico/calico-typha.yml.j2")],
)
def test_output_path(via: str, dest: str, expected: str) -> None:
    assert output_path(R("roles/network_plugin/calico/templates/calico-typha.yml.j2", dest, "node1", "", via=via)) \
        == expected


def test_emit_writes_host_dest_and_never_escapes(tmp_path: Path) -> None:
    renderings = [R("t.j2", "/etc/a.yaml", "node1", "a: 1\n"), R("t.j2", "/../../../escape", "node1", "x")]
    assert emit(renderings, tmp_path) == 1
    assert (tmp_path / "node1/etc/a.yaml").read_text() == "a: 1\n"
    assert not (tmp_path.parent / "escape").exists()


@pytest.mark.parametrize(("line", "expected"), [(17, 18), (12, 12), (3, 3), (0, 0), (99, 0)])
def test_template_line(line: int, expected: int) -> None:
    assert template_line(TEMPLATE.splitlines(), RENDERED.splitlines(), line) == expected


@pytest.mark.parametrize(("value", "minor"), [("v1.33.4", "1.33"), ("1.30.0", "1.30"), ("", None), (None, None)])
def test_kube_minor(value: object, minor: str | None) -> None:
    assert kube_minor(value) == minor


def test_template_line_of_a_multi_line_expression() -> None:
    template = ["kind: KubeletConfiguration", "kubeReserved:", "  {{ kube_reserved | to_nice_yaml }}",
                "systemReserved:", "  memory: {{ mem }}", "evictionHard: {}"]
    rendered = ["kind: KubeletConfiguration", "kubeReserved:", "  cpu: 200m", "memory: 512Mi", "systemReserved:",
                "  memory: 1Gi", "evictionHard: {}"]
    assert [template_line(template, rendered, n) for n in range(1, 8)] == [1, 2, 3, 3, 4, 5, 6]


def test_template_line_inside_a_loop() -> None:
    template = ["items:", "{% for i in xs %}", "  - name: {{ i }}", "    port: {{ port }}", "{% endfor %}", "end: 1"]
    rendered = ["items:", "  - name: a", "    port: 1", "  - name: b", "    port: 2", "end: 1"]
    assert [template_line(template, rendered, n) for n in (2, 5, 6)] == [3, 4, 6]


def test_a_rendering_that_is_not_utf8_is_a_finding_at_its_line(store: SchemaStore) -> None:
    """A template can write a lone surrogate (`{{ '\\udcff' }}`, or an invalid byte of a variable):
    a yaml-syntax finding at its line, the rest of the cell goes on."""
    bad = R("roles/r/templates/cm.yaml.j2", "/etc/cm.yaml", "node1", "a: 1\nb: \udcff\n")
    good = R("roles/r/templates/ok.yaml.j2", "/etc/ok.yaml", "node1", "a: 1\na: 2\n")
    findings = check_renderings([bad, good], store).findings
    assert [(f.rule, f.line, f.dest) for f in findings] == [("yaml-syntax", 2, "/etc/cm.yaml"),
                                                            ("duplicate-key", 2, "/etc/ok.yaml")]
