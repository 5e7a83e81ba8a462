"""CustomResourceDefinition `openAPIV3Schema` -> strict JSON schema, as apiextensions-apiserver judges.

The API server prunes unknown fields of a custom resource (structural pruning) and, with strict
field validation, reports each pruned path as `unknown field`; it drops non-nullable nulls of
optional fields before validating; it applies defaults before validating. So:

- an object with `properties` is closed (`additionalProperties: false`) unless it has
  `x-kubernetes-preserve-unknown-fields: true`; an object with neither properties nor
  additionalProperties keeps no field at all, so any field is unknown;
- the root is closed too: `apiVersion` and `kind` are constants, `metadata` is ObjectMeta;
- `nullable: true` adds null; an optional (not required) field also accepts null (pruned);
  a required field or a list item does not;
- `x-kubernetes-int-or-string` is an integer or a string; `x-kubernetes-embedded-resource` needs
  `apiVersion` and `kind` and may carry `metadata`; `x-kubernetes-list-type: set` means unique items;
- a property with a `default` is not required (the default fills it first);
- descriptions, examples and CEL rules (`x-kubernetes-validations`) are dropped from the JSON schema: the rules
  are evaluated from the CRD's original schema (`SchemaEntry.structural`, `kvalidate.cel`);
  only the formats apiextensions validates are kept.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache
from typing import Any

from kvalidate.schemas.core import DEFAULT_MINOR, CoreSchemas, read_with_newest_object_meta

# apiextensions-apiserver pkg/apiserver/validation/formats.go: the formats it checks.
CHECKED_FORMATS = {"bsonobjectid", "uri", "email", "hostname", "ipv4", "ipv6", "cidr", "mac", "uuid",
                   "uuid3", "uuid4", "uuid5", "isbn", "isbn10", "isbn13", "creditcard", "ssn", "hexcolor",
                   "rgbcolor", "byte", "password", "date", "duration", "datetime", "date-time"}
_COPY = {"type", "enum", "pattern", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum",
         "minLength", "maxLength", "minItems", "maxItems", "minProperties", "maxProperties", "multipleOf",
         "uniqueItems", "required", "x-kubernetes-list-type", "x-kubernetes-list-map-keys"}
OBJECT_META = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"


def _types(schema: dict[str, Any]) -> list[str]:
    t = schema.get("type")
    return [t] if isinstance(t, str) else list(t or [])


def _with_null(schema: dict[str, Any]) -> dict[str, Any]:
    types = _types(schema)
    if not schema or "null" in types:
        return schema
    if types:
        out = {**schema, "type": [*types, "null"]}
        if "enum" in out and None not in out["enum"]:
            out["enum"] = [*out["enum"], None]
        return out
    return {"anyOf": [{"type": "null"}, schema]}


def convert(node: dict[str, Any]) -> dict[str, Any]:
    """One (sub)schema of an openAPIV3Schema, converted; `nullable` is applied by the caller's rules."""
    out: dict[str, Any] = {k: v for k, v in node.items() if k in _COPY}
    fmt = node.get("format")
    if isinstance(fmt, str) and fmt in CHECKED_FORMATS:
        out["format"] = "date-time" if fmt == "datetime" else fmt
    for key in ("allOf", "anyOf", "oneOf"):
        if key in node:
            out[key] = [convert(s) for s in node[key]]
    if "not" in node:
        out["not"] = convert(node["not"])
    if node.get("x-kubernetes-int-or-string"):
        # CRDs spell the union as anyOf [integer, string(+pattern)]; keep it when it says more
        branches = out.get("anyOf", [])
        if all(set(b) == {"type"} for b in branches):
            out.pop("anyOf", None)
            out["type"] = ["integer", "string"]
    if node.get("x-kubernetes-list-type") == "set":
        out["uniqueItems"] = True
    if "items" in node and isinstance(node["items"], dict):
        out["items"] = _nullable(node["items"], convert(node["items"]))
    preserve = bool(node.get("x-kubernetes-preserve-unknown-fields"))
    props = node.get("properties") or {}
    is_object = node.get("type") == "object" or bool(props)
    if props:
        required = set(node.get("required") or [])
        defaulted = {k for k, v in props.items() if isinstance(v, dict) and "default" in v}
        out["properties"] = {}
        for name, sub in props.items():
            conv = _nullable(sub, convert(sub))
            out["properties"][name] = conv if name in required else _with_null(conv)
        if required - defaulted:
            out["required"] = sorted(required - defaulted)
        else:
            out.pop("required", None)
    if isinstance(node.get("additionalProperties"), dict):
        sub = node["additionalProperties"]
        out["additionalProperties"] = _nullable(sub, convert(sub))
    elif node.get("additionalProperties") is True:
        out["additionalProperties"] = True
    elif is_object and not preserve and not node.get("x-kubernetes-embedded-resource"):
        out["additionalProperties"] = False
        out.setdefault("properties", {})  # so that an unknown key is reported by name
    if node.get("x-kubernetes-embedded-resource"):
        _embedded(out, preserve)
    return out


def _nullable(src: dict[str, Any], conv: dict[str, Any]) -> dict[str, Any]:
    return _with_null(conv) if src.get("nullable") else conv


def _embedded(out: dict[str, Any], preserve: bool) -> None:
    """An object that is itself a Kubernetes resource: apiVersion and kind required, metadata allowed."""
    props = out.setdefault("properties", {})
    props.setdefault("apiVersion", {"type": "string", "minLength": 1})
    props.setdefault("kind", {"type": "string", "minLength": 1})
    props.setdefault("metadata", {"$ref": f"#/$defs/{OBJECT_META}"})
    out["required"] = sorted({*out.get("required", []), "apiVersion", "kind"})
    if not preserve:
        out["additionalProperties"] = False


@cache
def _object_meta_defs() -> dict[str, Any]:
    """ObjectMeta and what it references, strict, from the API schemas kvalidate already ships: the
    newest minor's (those of a minor already read when they are the same, `core.SAME_OBJECT_META`)."""
    core = read_with_newest_object_meta() or CoreSchemas(DEFAULT_MINOR)
    entry = core.lookup("v1", "ConfigMap")
    assert entry is not None
    return {k: v for k, v in entry.schema["$defs"].items() if k.startswith("io.k8s.apimachinery.pkg.apis.meta.v1.")}


def _uses_ref(node: Any) -> bool:
    if isinstance(node, dict):
        return node.get("$ref") == f"#/$defs/{OBJECT_META}" or any(_uses_ref(v) for v in node.values())
    return isinstance(node, list) and any(_uses_ref(v) for v in node)


def root_schema(open_api: dict[str, Any], api_version: str, kind: str) -> dict[str, Any]:
    """The strict schema of one served version's custom resources."""
    body = convert({**open_api, "type": "object"})
    props = body.setdefault("properties", {})
    declared_meta = props.pop("metadata", None)
    props["apiVersion"] = {"const": api_version}
    props["kind"] = {"const": kind}
    meta: dict[str, Any] = {"$ref": f"#/$defs/{OBJECT_META}"}
    if declared_meta:  # a CRD may only constrain name/generateName; both must hold
        declared_meta.pop("additionalProperties", None)
        meta = {"allOf": [meta, declared_meta]}
    props["metadata"] = meta
    body["type"] = "object"
    body["required"] = sorted({*body.get("required", []), "apiVersion", "kind"})
    if not open_api.get("x-kubernetes-preserve-unknown-fields"):
        body["additionalProperties"] = False
    return attach_defs({"$schema": "https://json-schema.org/draft/2020-12/schema", **body})


def attach_defs(schema: dict[str, Any]) -> dict[str, Any]:
    """Add the ObjectMeta definitions a converted schema refers to (pinned files ship without them)."""
    if _uses_ref(schema) and "$defs" not in schema:
        return {**schema, "$defs": dict(_object_meta_defs())}
    return schema


def schemas_from_crd(doc: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    """(apiVersion, kind) -> strict schema for every served version of a CustomResourceDefinition.

    Versions without a schema accept any object of that kind (the server keeps every field)."""
    spec = doc.get("spec") if isinstance(doc, dict) else None
    if not isinstance(spec, dict):
        return {}
    group, names = spec.get("group"), spec.get("names") or {}
    kind = names.get("kind") if isinstance(names, dict) else None
    if not isinstance(group, str) or not isinstance(kind, str):
        return {}
    legacy = (spec.get("validation") or {}).get("openAPIV3Schema")  # apiextensions v1beta1
    out: dict[tuple[str, str], dict[str, Any]] = {}
    versions = spec.get("versions") or ([{"name": spec["version"], "served": True}] if spec.get("version") else [])
    for v in versions:
        if not isinstance(v, dict) or not v.get("served", True) or not isinstance(v.get("name"), str):
            continue
        api_version = f"{group}/{v['name']}"
        open_api = ((v.get("schema") or {}).get("openAPIV3Schema")) or legacy
        if not isinstance(open_api, dict):
            open_api = {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
        out[(api_version, kind)] = root_schema(open_api, api_version, kind)
    return out


def schemas_in(documents: Iterable[Any]) -> dict[tuple[str, str], dict[str, Any]]:
    """Every served kind of every CustomResourceDefinition among parsed documents (plain data), for
    a pipeline that registers the CRDs of a cell's renderings before validating its custom resources:
    `store.add_crd_schemas(schemas_in(docs), "crd:<template>")`."""
    out: dict[tuple[str, str], dict[str, Any]] = {}
    for doc in documents:
        if (isinstance(doc, dict) and doc.get("kind") == "CustomResourceDefinition"
                and str(doc.get("apiVersion", "")).startswith("apiextensions.k8s.io/")):
            out.update(schemas_from_crd(doc))
    return out
