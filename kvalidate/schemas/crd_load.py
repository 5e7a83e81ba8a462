"""`--crds PATH`: register the schemas of CustomResourceDefinitions read from files (a CRD the API server
refuses registers its kinds as broken: their documents are `no-schema` warnings naming the reason)."""

from __future__ import annotations

from kvalidate.documents import iter_inputs, parse_text
from kvalidate.model import SetupError, Source
from kvalidate.schemas.crd_structure import entries_in
from kvalidate.schemas.store import SchemaStore


def load_crds(store: SchemaStore, paths: list[str]) -> int:
    """Parse every CRD in `paths` and register its served versions; returns how many kinds."""
    count = 0
    for label, text in iter_inputs(paths):
        parsed = parse_text(text, Source(label))
        if parsed.findings:
            f = parsed.findings[0]
            raise SetupError(f"cannot read CRDs from {label}:{f.line}: {f.message}")
        entries = entries_in((doc.data for doc in parsed.documents), f"crd:{label}", store.minor)
        store.add_crd_entries(entries)
        count += len(entries)
    return count
