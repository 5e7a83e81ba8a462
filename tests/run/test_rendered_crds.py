"""A cell's rendered CRDs serve its custom resources with their structural schema (defaults, list types), and a
CRD the API server refuses serves none (kvalidate.run.cell._register_rendered_crds)."""

from __future__ import annotations

import textwrap

from kvalidate.ansible.types import Rendering
from kvalidate.model import Severity
from kvalidate.run.cell import _register_rendered_crds
from kvalidate.schemas.store import SchemaStore
from kvalidate.validation.renderings import check_renderings

CRD = textwrap.dedent("""\
    apiVersion: apiextensions.k8s.io/v1
    kind: CustomResourceDefinition
    metadata: {name: pools.example.com}
    spec:
      group: example.com
      names: {kind: Pool, plural: pools}
      scope: Cluster
      versions:
      - name: v1
        served: true
        storage: true
        schema:
          openAPIV3Schema:
            type: object
            properties:
              spec:
                type: object
                properties:
                  peers:
                    type: array
                    x-kubernetes-list-type: map
                    x-kubernetes-list-map-keys: [address, port]
                    items:
                      type: object
                      required: [address]
                      properties:
                        address: {type: string}
                        port: {type: integer, default: 179}
    """)
POOL = "apiVersion: example.com/v1\nkind: Pool\nmetadata: {name: p}\nspec:\n  peers:\n  - {address: a}\n" \
       "  - {address: a, port: 179}\n"


def _rendering(name: str, text: str) -> Rendering:
    return Rendering(template=f"roles/x/templates/{name}.j2", role="x", dest=f"/etc/k8s/{name}", host="node1",
                     task="t", item=None, text=text)


def _findings(crd: str) -> list[tuple[Severity, str, str]]:
    renderings = [_rendering("crd.yml", crd), _rendering("pool.yml", POOL)]
    store = SchemaStore.for_version("1.33")
    _register_rendered_crds(store, renderings)
    result = check_renderings(renderings, store)
    return [(f.severity, f.rule, f.message) for f in result.findings]


def test_rendered_crd_defaults_then_list_map() -> None:
    assert _findings(CRD) == [(Severity.ERROR, "duplicate-value",
                               'spec.peers[1]: Duplicate value: {"address":"a","port":179}')]


def test_refused_rendered_crd() -> None:
    findings = _findings(CRD.replace("port: {type: integer, default: 179}", "port: {type: integr, default: 179}"))
    assert [(s, r) for s, r, _ in findings] == [(Severity.ERROR, "crd-structure"), (Severity.WARNING, "no-schema")]
    assert findings[0][2].startswith('spec.validation.openAPIV3Schema.properties[spec].properties[peers].items.'
                                     'properties[port].type: Unsupported value: "integr"')
    assert "its CustomResourceDefinition is invalid" in findings[1][2]
