"""All schemas of one run for one Kubernetes minor: the API kinds (core), the cell's CRDs, component
configs and pinned CRDs, looked up in that order, with compiled validators cached per kind."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import jsonschema_rs

from kvalidate.pinned import pinned_schemas
from kvalidate.schemas import components
from kvalidate.schemas.core import DEFAULT_MINOR, CoreSchemas, KeptData, minor_of
from kvalidate.schemas.entry import SchemaEntry
from kvalidate.schemas.pinned_crds import pinned_crd_lookup

__all__ = ["SchemaStore", "minor_of"]


@dataclass
class SchemaStore:
    """All schemas of one run for one Kubernetes minor, with compiled validators cached per kind.

    `versions` carries the cell's component versions (`calico_version`, `cilium_version`) that
    select pinned CRD schemas. `exact` is False when the cell renders another minor than the
    store's (outside the bundled ones): a kind missing here may exist there (`schemas.kinds`).
    """

    minor: str = DEFAULT_MINOR
    versions: Mapping[str, str] = field(default_factory=dict)
    exact: bool = True
    kept: KeptData | None = None  # the API kinds' index and schemas kept across runs (`CoreSchemas`)
    _crds: dict[tuple[str, str], SchemaEntry] = field(default_factory=dict)
    _entries: dict[tuple[str, str], SchemaEntry | None] = field(default_factory=dict)
    _validators: dict[tuple[str, str], Any] = field(default_factory=dict)

    @classmethod
    def for_version(cls, kube_version: str | None, versions: Mapping[str, str] | None = None, *,
                    exact: bool = True, kept: KeptData | None = None) -> SchemaStore:
        minor = minor_of(kube_version)
        store = cls(minor, dict(versions or {}), exact, kept)
        store.core  # noqa: B018 - fail early (exit 2) on an unsupported minor
        pinned_schemas()  # and on missing pinned data, rather than a `no-schema` per document
        return store

    @cached_property
    def core(self) -> CoreSchemas:
        return CoreSchemas(self.minor, self.kept)

    def add_crd_schemas(self, schemas: Mapping[tuple[str, str], dict[str, Any]], source: str) -> None:
        """Register strict schemas converted from CustomResourceDefinitions (they win over
        everything else for their kinds, as the API server serves what the CRD says)."""
        for key, schema in schemas.items():
            self._crds[key] = SchemaEntry(schema, source)
            self._entries.pop(key, None)
            self._validators.pop(key, None)

    def add_crd_entries(self, entries: Mapping[tuple[str, str], SchemaEntry]) -> None:
        """Register CRD-served kinds with their structural schemas (`crd_structure.entries_in`)."""
        for key, entry in entries.items():
            self._crds[key] = entry
            self._entries.pop(key, None)
            self._validators.pop(key, None)

    def lookup(self, api_version: str, kind: str) -> SchemaEntry | None:
        key = (api_version, kind)
        if key in self._entries:
            return self._entries[key]
        entry = self._crds.get(key) or self.core.lookup(api_version, kind)
        if entry is None:
            entry = (components.lookup(self.minor, api_version, kind)
                     or pinned_crd_lookup(api_version, kind, self.versions))
        self._entries[key] = entry
        return entry

    def validator(self, api_version: str, kind: str) -> tuple[SchemaEntry, Any] | None:
        entry = self.lookup(api_version, kind)
        if entry is None:
            return None
        key = (api_version, kind)
        v = self._validators.get(key)
        if v is None:
            v = jsonschema_rs.validator_for(entry.schema)
            self._validators[key] = v
        return entry, v

    def crd_kinds(self) -> list[tuple[str, str]]:
        """(apiVersion, kind) served by the CustomResourceDefinitions registered so far."""
        return sorted(self._crds)

    def kinds(self) -> Iterable[tuple[str, str]]:
        return sorted(set(self.core.index) | set(self._crds))
