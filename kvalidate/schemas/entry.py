"""A schema and what to say about it: the one type every schema source produces. Imports nothing of
the schemas family, so that every source (core, components, pinned CRDs, converted CRDs) and the
store can name it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kvalidate.model import Severity

API_CONSUMER = "kube-apiserver (strict field validation, as kubectl --validate=strict)"


@dataclass(frozen=True)
class SchemaEntry:
    schema: dict[str, Any]  # self-contained Draft 2020-12 schema (local "$defs" refs only)
    source: str  # where it comes from, shown by `kvalidate schemas` and in no-schema hints
    unknown_severity: Severity = Severity.ERROR  # severity of unknown and duplicate fields
    consumer: str = API_CONSUMER  # who reads the document, quoted in messages
    native: bool = False  # a built-in API kind: name and label rules apply (kvalidate.validation.names)
    # a CRD-served kind: the version's original openAPIV3Schema (defaults, list types, CEL rules); None for
    # every other source (pinned CRDs are stored converted)
    structural: dict[str, Any] | None = None
    # why this kind has no usable schema (its CRD is refused by the API server): its documents are
    # `no-schema` warnings with this reason, not validated
    broken: str = ""
