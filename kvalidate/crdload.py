"""`--crds PATH`: register the schemas of CustomResourceDefinitions read from files."""

from __future__ import annotations

import importlib
from typing import Any

from .documents import iter_inputs, parse_text
from .model import SetupError, Source
from .schemastore import SchemaStore


def load_crds(store: SchemaStore, paths: list[str]) -> int:
    """Parse every CRD in `paths` and register its served versions; returns how many kinds."""
    try:
        crd: Any = importlib.import_module("kvalidate.crd")
    except ImportError as e:  # pragma: no cover - the module ships with kvalidate
        raise SetupError("CRD conversion is not available in this installation") from e
    count = 0
    for label, text in iter_inputs(paths):
        parsed = parse_text(text, Source(label))
        if parsed.findings:
            f = parsed.findings[0]
            raise SetupError(f"cannot read CRDs from {label}:{f.line}: {f.message}")
        for doc in parsed.documents:
            data = doc.data
            if isinstance(data, dict) and data.get("kind") == "CustomResourceDefinition":
                schemas = crd.schemas_from_crd(data)
                store.add_crd_schemas(schemas, f"crd:{label}")
                count += len(schemas)
    return count
