"""(apiVersion, kind, Kubernetes minor) -> a strict, self-contained JSON schema and its validator.

Built-in API kinds come from kubernetes-validate's bundled strict schema data (pinned exactly in
pyproject.toml), read as package data; its `validate()` is never called (it re-reads 1.8 MB per
call and stops at the first error), nor is the package imported (its `__init__` loads the
Python `jsonschema` library, ~55 ms): its directory is found from its import spec. For each kind
we build a closure bundle (only the reachable `$defs`, descriptions dropped) and compile it with
jsonschema-rs on first use.

Load-time corrections, each tested in tests/validation/test_validate.py:
- IntOrString and Quantity accept an explicit `null`, as the API server does (`maxSurge: null`);
  upstream they are a `oneOf` of two nullable types, which rejects null.
- Quantity strings must match the Kubernetes quantity grammar (`cpu: lots` is an error).
- `format: int32` gets its range (Go refuses to decode 2**31 into an int32).
- `format: byte` (Secret `data`, CA bundles) must be base64.
Names (`generateName` without `name`, `system:` RBAC names) are checked by `kvalidate.validation.names`.

Component configs and CRDs come from `kvalidate.schemas.components` and `kvalidate.schemas.crd_convert` through the same
`SchemaEntry`, so validation and reports do not care where a schema came from.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import weakref
from collections.abc import Mapping
from functools import cache, cached_property
from importlib import resources
from importlib.util import find_spec
from pathlib import Path
from typing import Any, Protocol

from kvalidate.model import SetupError
from kvalidate.schemas.entry import SchemaEntry
from kvalidate.versions import minor_key

MINORS = tuple(f"1.{m}" for m in range(25, 38))  # what kubernetes-validate 1.37.0 bundles
DEFAULT_MINOR = MINORS[-1]

# apimachinery pkg/api/resource/quantity.go: <signedNumber><suffix>, suffix one of the binary SI,
# decimal SI or decimal exponent forms. The message the API server prints (ErrFormatWrong) quotes a
# looser regex; we check the real grammar and quote the server's words.
QUANTITY_PATTERN = (r"^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)"
                    r"(Ki|Mi|Gi|Ti|Pi|Ei|m|k|M|G|T|P|E|[eE][+-]?[0-9]+)?$")
QUANTITY_MESSAGE = "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"
BASE64_PATTERN = r"^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$"
_INT_OR_STRING = "io.k8s.apimachinery.pkg.util.intstr.IntOrString"
_QUANTITY = "io.k8s.apimachinery.pkg.api.resource.Quantity"
_KEEP_X = ("x-kubernetes-int-or-string", "x-kubernetes-preserve-unknown-fields",
           "x-kubernetes-list-map-keys", "x-kubernetes-list-type", "x-kubernetes-embedded-resource")

def minor_of(version: str | None) -> str:
    """`1.33`, `v1.33.2`, `1.33.0` -> `1.33`; None -> the newest bundled minor."""
    if not version:
        return DEFAULT_MINOR
    m = re.fullmatch(r"v?(\d+)\.(\d+)(\.\d+)?(-.*)?", version.strip())
    if not m:
        raise SetupError(f"invalid Kubernetes version {version!r}: expected X.Y (e.g. 1.33)")
    return f"{m.group(1)}.{m.group(2)}"


def bundled_minor(minor: str) -> str:
    """The bundled minor that validates a rendered Kubernetes `minor`: itself when bundled, else the
    oldest bundled one for an older minor and the newest for a newer one (the caller says so)."""
    key = minor_key(minor)
    if key < minor_key(MINORS[0]):
        return MINORS[0]
    if key > minor_key(MINORS[-1]):
        return MINORS[-1]
    return minor


def _strip(node: Any, names: bool = False) -> Any:
    """Drop descriptions and unused `x-kubernetes-*` annotations of a schema. `names` marks a
    `properties` (or `$defs`) map, whose keys are field names, not keywords: JSONSchemaProps has
    fields called `x-kubernetes-validations` and `description` that must stay."""
    if isinstance(node, dict):
        out = {}
        for k, v in node.items():
            if not names and k == "description" and isinstance(v, str):
                continue
            if not names and k.startswith("x-kubernetes-") and k not in _KEEP_X:
                continue
            out[k] = _strip(v, names=not names and k in ("properties", "$defs", "patternProperties"))
        if names:
            return out
        fmt = out.get("format")
        if fmt == "int32":
            out.setdefault("minimum", -(2**31))
            out.setdefault("maximum", 2**31 - 1)
        elif fmt == "byte" and "string" in _types(out):
            out.setdefault("pattern", BASE64_PATTERN)
        return out
    if isinstance(node, list):
        return [_strip(x) for x in node]
    return node


def _types(schema: Mapping[str, Any]) -> list[str]:
    t = schema.get("type")
    return [t] if isinstance(t, str) else list(t or [])


def _patch(bundle: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = _strip(bundle)
    defs = out["$defs"]
    if _INT_OR_STRING in defs:
        defs[_INT_OR_STRING] = {"type": ["integer", "string", "null"]}
    if _QUANTITY in defs:
        defs[_QUANTITY] = {"type": ["string", "number", "null"], "pattern": QUANTITY_PATTERN}
    return out


def closure_bundle(root: dict[str, Any], defs: Mapping[str, Any]) -> dict[str, Any]:
    """One self-contained schema: `root` plus only the `$defs` reachable from it."""
    needed: dict[str, Any] = {}
    stack = [root]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                name = ref[len("#/$defs/"):]
                if name not in needed:
                    needed[name] = defs[name]
                    stack.append(defs[name])
            stack.extend(v for k, v in node.items() if k != "$ref")
        elif isinstance(node, list):
            stack.extend(node)
    bundle = dict(root)
    bundle["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    bundle["$defs"] = needed
    return bundle


@cache
def _kubernetes_validate_version() -> str:
    """kubernetes-validate's version, from its `version.py` (`__version__ = '1.37.0'`) read as text:
    neither importing the package nor `importlib.metadata` (~10 ms of start-up, for one string);
    the distribution's metadata when that file does not say it so."""
    try:
        text = (_package_files("kubernetes_validate") / "version.py").read_text(encoding="utf-8")
    except OSError:
        text = ""
    m = re.fullmatch(r"""__version__ = (['"])([0-9A-Za-z.+-]+)\1\s*""", text)
    if m:
        return m.group(2)
    from importlib.metadata import version  # stdlib, only for an unexpected layout

    return version("kubernetes-validate")


def _package_files(package: str) -> Any:
    """The directory of an installed `package` without importing it (its import spec's location);
    `importlib.resources` (which imports it) for a package that is not a plain directory."""
    spec = find_spec(package)
    locations = list(spec.submodule_search_locations or ()) if spec is not None else []
    if len(locations) == 1 and Path(locations[0]).is_dir():
        return Path(locations[0])
    return resources.files(package)


# Minors whose ObjectMeta definitions (with what they reference, as `lookup` patches them) are the
# newest minor's, identical (tests/schemas/test_kinds.py checks the data): a CRD's schema may take
# them from whichever of these a run has at hand (`crd_convert.attach_defs`) instead of reading the
# newest minor's 1.4 MB of definitions for them too (~12 ms of a one-scenario check).
SAME_OBJECT_META = tuple(m for m in MINORS if minor_key(m) >= minor_key("1.30"))
# minor -> its schemas, when their definitions have been read or are kept across runs (`kept`)
_READ: weakref.WeakValueDictionary[str, CoreSchemas] = weakref.WeakValueDictionary()
# what a kept entry was built by: this module's code (closure, patches), hashed into every key
_CODE = hashlib.blake2b(Path(__file__).read_bytes(), digest_size=16).hexdigest()


class KeptData(Protocol):
    """Plain data kept across runs (`ansible.codecache.DATA_CACHE`, handed in by `run.cell`:
    authenticated, `marshal` of data), keyed by 40 hex digits."""

    def get_data(self, key: str) -> Any: ...

    def put_data(self, key: str, value: Any) -> bool: ...


def read_with_newest_object_meta() -> CoreSchemas | None:
    """A minor of `SAME_OBJECT_META` whose schemas this process has at hand already, if any."""
    return next((c for m in reversed(SAME_OBJECT_META) if (c := _READ.get(m)) is not None), None)


class CoreSchemas:
    """The built-in API kinds of one Kubernetes minor, from kubernetes-validate's strict data.

    With `kept` (a command's runs), the index of kinds and each kind's schema, once built, are kept
    across runs, keyed by the data file (kubernetes-validate's version, the file's size and time)
    and this module's code: a one-scenario check then reads no 1.4 MB definitions file at all
    (~25 ms). A kept entry of an unexpected shape is built again."""

    def __init__(self, minor: str, kept: KeptData | None = None) -> None:
        if minor not in MINORS:
            raise SetupError(f"Kubernetes {minor} is not supported: kvalidate has API schemas for "
                             f"{MINORS[0]} to {MINORS[-1]}")
        self.minor = minor
        self.dirname = f"v{minor}.0-local-strict"
        self.source = f"kubernetes-validate {_kubernetes_validate_version()} {self.dirname}"
        self.kept = kept if kept is not None and self._data_stamp else None
        if self.kept is not None:
            _READ.setdefault(self.minor, self)

    def _definitions(self) -> Any:
        return _package_files("kubernetes_validate") / "kubernetes-json-schema" / self.dirname / "_definitions.json"

    @cached_property
    def _data_stamp(self) -> str:
        """The data file as kept entries are keyed by ("" when it is no plain file: nothing kept)."""
        try:
            st = os.stat(self._definitions())
        except (OSError, TypeError):
            return ""
        return f"{self.source}\x00{st.st_size}\x00{st.st_mtime_ns}\x00{_CODE}"

    def _kept_key(self, what: str) -> str:
        return hashlib.blake2b(f"core-schemas\x00{self._data_stamp}\x00{what}".encode(), digest_size=20).hexdigest()

    @cached_property
    def _raw(self) -> dict[str, Any]:
        defs: dict[str, Any] = json.loads(self._definitions().read_text(encoding="utf-8"))["$defs"]
        _READ[self.minor] = self
        return defs

    @cached_property
    def index(self) -> dict[tuple[str, str], str]:
        """(apiVersion, kind) -> definition name, from `x-kubernetes-group-version-kind` of kinds
        whose own `kind` property is an enum of that kind (this skips shared types such as
        DeleteOptions, which list every group)."""
        if self.kept is not None:
            kept = self.kept.get_data(self._kept_key("index"))
            if isinstance(kept, tuple) and all(
                    isinstance(x, tuple) and len(x) == 3 and all(isinstance(y, str) for y in x) for x in kept):
                return {(api_version, kind): name for api_version, kind, name in kept}
        out = self._index()
        if self.kept is not None:
            self.kept.put_data(self._kept_key("index"), tuple((a, k, n) for (a, k), n in out.items()))
        return out

    def _index(self) -> dict[tuple[str, str], str]:
        out: dict[tuple[str, str], str] = {}
        for name, d in self._raw.items():
            kind_enum = d.get("properties", {}).get("kind", {}).get("enum")
            for gvk in d.get("x-kubernetes-group-version-kind", ()):
                if kind_enum and gvk["kind"] not in kind_enum:
                    continue
                api_version = f"{gvk['group']}/{gvk['version']}" if gvk["group"] else gvk["version"]
                out[(api_version, gvk["kind"])] = name
        return out

    def lookup(self, api_version: str, kind: str) -> SchemaEntry | None:
        name = self.index.get((api_version, kind))
        if name is None:
            return None
        key = self._kept_key(f"kind\x00{name}") if self.kept is not None else ""
        if self.kept is not None:
            kept = self.kept.get_data(key)
            if isinstance(kept, dict) and isinstance(kept.get("$defs"), dict):
                return SchemaEntry(kept, self.source, native=True)
        schema = _patch(closure_bundle(self._raw[name], self._raw))
        if self.kept is not None:
            self.kept.put_data(key, schema)
        return SchemaEntry(schema, self.source, native=True)
