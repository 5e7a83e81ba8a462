"""What a semantic rule sees of one cell."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from kvalidate.documents import parse_text
from kvalidate.model import Document, Finding, Severity, Source, field_path
from kvalidate.validation.renderings import RenderingLike, is_yaml, output_path


@dataclass
class CellContext:
    """One cell as the rules see it. `groups` is the inventory's `groups` at the end of the run
    (members in inventory order, so `groups['kube_control_plane'][0]` is Kubespray's
    `first_kube_control_plane`); `kube_version` the Kubernetes version the cell renders ("1.29", ""
    if unknown); `fresh_install` whether the run installs a new cluster (`kubeadm init` runs during
    it: a `cluster.yml` run, `kubespray.checkout.fresh_install`)."""

    renderings: Sequence[RenderingLike]
    addresses: Mapping[str, frozenset[str]]  # host -> its own IP addresses and names
    cell: str = ""
    ref: str = ""
    template_text: Callable[[str], str | None] | None = None
    groups: Mapping[str, Sequence[str]] = field(default_factory=dict)
    kube_version: str = ""
    fresh_install: bool = True
    _docs: dict[int, list[Document]] = field(default_factory=dict)

    def documents(self, r: RenderingLike) -> list[Document]:
        """Parsed documents of a YAML rendering (cached), positioned in its output file."""
        key = id(r)
        if key not in self._docs:
            if not is_yaml(r):
                self._docs[key] = []
            else:
                src = Source(output_path(r), template=r.template, host=r.host, cell=self.cell, ref=self.ref,
                             dest=r.dest)
                self._docs[key] = parse_text(r.text, src).documents
        return self._docs[key]


def flatten(data: Any, prefix: tuple[str | int, ...] = ()) -> dict[tuple[str | int, ...], Any]:
    """Scalar leaves by path; list items of `{name, value}` pairs keyed by their name (kubeadm's
    extraArgs in v1beta4 are such a list), so that reordering does not count as a difference."""
    out: dict[tuple[str | int, ...], Any] = {}
    if isinstance(data, dict):
        for k, v in data.items():
            out.update(flatten(v, (*prefix, k)))
    elif isinstance(data, list):
        for i, v in enumerate(data):
            if isinstance(v, dict) and set(v) == {"name", "value"} and isinstance(v["name"], str):
                out[(*prefix, i, "value")] = v["value"]
            else:
                out.update(flatten(v, (*prefix, i)))
    else:
        out[prefix] = data
    return out


def finding(rule: str, severity: Severity, doc: Document, path: tuple[str | int, ...], message: str) -> Finding:
    """A semantic rule's finding at `path` of `doc`, located in its rendered file (the template line is
    added by the caller, which has the template's text)."""
    pos = doc.position(path)
    src = doc.source
    return Finding(severity, rule, message, path=field_path(path), file=src.file, line=pos.line, column=pos.column,
                   document=doc.index, apiVersion=doc.api_version, kind=doc.kind, name=doc.name,
                   template=src.template, host=src.host, cell=src.cell, ref=src.ref, dest=src.dest)
