"""What the API server checks when a CustomResourceDefinition is created, and the schema entries of CRDs.

apiextensions-apiserver refuses a CRD (422) whose spec or schema breaks its rules:
`pkg/apis/apiextensions/validation/validation.go` (names, group, versions, the OpenAPI schema's supported
constructs and `x-kubernetes-*` consistency) and `pkg/apiserver/schema/validation.go` + `complete.go` (the
structural schema), then `pkg/apiserver/schema/defaulting/validation.go` (defaults valid and pruned). This
module re-implements those checks on the CRD as plain data (apiextensions.k8s.io/v1) and words every problem
as the API server does: `<field path>: <Unsupported value|Invalid value|Required value|Forbidden>: ...`,
with the field path of the server's internal version (a schema shared by every version is
`spec.validation.openAPIV3Schema`, otherwise `spec.versions[i].schema.openAPIV3Schema`).

A CRD with problems serves no schema: `crd_entries` registers its kinds as broken, so that their custom
resources are `no-schema` warnings naming the reason instead of being judged by a schema the server refused.

`NODE_CHECKS` is the hook for further per-schema-node checks (CEL rules that must compile): each is called
for every node of a structurally valid schema that carries `x-kubernetes-validations`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import jsonschema_rs

from kvalidate import cel
from kvalidate.model import go_value
from kvalidate.schemas.crd_convert import attach_defs, convert, schemas_from_crd
from kvalidate.schemas.entry import SchemaEntry

DocPath = tuple[str | int, ...]


@dataclass(frozen=True)
class Problem:
    """One reason the API server refuses a CRD: where it is in the document, and the server's words."""

    path: DocPath  # inside the CRD document, for the finding's line
    message: str  # `<API field path>: <detail>` as the API server prints it

    @property
    def field(self) -> str:
        """The API server's field path (`spec.validation.openAPIV3Schema.properties[spec].type`)."""
        return self.message.split(": ", 1)[0]


@dataclass(frozen=True)
class Loc:
    """A schema node's place: in the document (`doc`) and in the API server's field path (`api`)."""

    doc: DocPath
    api: str

    def child(self, name: str) -> Loc:
        return Loc((*self.doc, name), f"{self.api}.{name}" if self.api else name)

    def key(self, name: str, key: str) -> Loc:
        return Loc((*self.doc, name, key), f"{self.api}.{name}[{key}]")

    def index(self, name: str, i: int) -> Loc:
        return Loc((*self.doc, name, i), f"{self.api}.{name}[{i}]")


# A check of one schema node (`node` at `loc`, `minor` the cell's Kubernetes minor) run on structurally valid
# schemas for every node with `x-kubernetes-validations`: the hook where CEL compilation plugs in.
NodeCheck = Callable[[dict[str, Any], Loc, str], Iterable[Problem]]
NODE_CHECKS: list[NodeCheck] = []


def _rules_compile(node: dict[str, Any], loc: Loc, minor: str) -> Iterator[Problem]:
    """Each `x-kubernetes-validations` rule (and its messageExpression) compiles in the minor's CEL
    environment within the estimated cost budget (validation.go: `compilation failed: ...` as Invalid,
    `estimated rule cost exceeds budget ...` as Forbidden). celpy is imported only here, on first use."""
    root = loc.api.endswith("openAPIV3Schema") or bool(node.get("x-kubernetes-embedded-resource"))
    for i, rule in enumerate(node.get("x-kubernetes-validations") or ()):
        if not isinstance(rule, dict) or not isinstance(rule.get("rule"), str):
            continue  # malformed rules are _rule's findings
        msg_expr = rule.get("messageExpression")
        out = cel.compile_rule(rule["rule"], node, minor, root=root,
                               message_expression=msg_expr if isinstance(msg_expr, str) else "")
        if isinstance(out, cel.CompileError):
            at = loc.index("x-kubernetes-validations", i).child("rule")
            detail = "Forbidden" if out.cost else f"Invalid value: {go_value(rule)}"
            yield Problem(at.doc, f"{at.api}: {detail}: {out.message}")


NODE_CHECKS.append(_rules_compile)

OPENAPI_TYPES = ("array", "boolean", "integer", "number", "object", "string")
_REASONS = ("FieldValueDuplicate", "FieldValueForbidden", "FieldValueInvalid", "FieldValueRequired")
_META_FIELDS = ("metadata", "kind", "apiVersion")
# the keys NewStructural keeps (Generic, Extensions, ValueValidation, Properties, Items, AdditionalProperties);
# `example` and `externalDocs` are dropped, so a schema may carry them anywhere
_STRUCTURAL_KEYS = frozenset({
    "type", "description", "title", "default", "nullable", "x-kubernetes-preserve-unknown-fields",
    "x-kubernetes-embedded-resource", "x-kubernetes-int-or-string", "x-kubernetes-list-map-keys",
    "x-kubernetes-list-type", "x-kubernetes-map-type", "x-kubernetes-validations", "format", "maximum",
    "exclusiveMaximum", "minimum", "exclusiveMinimum", "maxLength", "minLength", "pattern", "maxItems",
    "minItems", "uniqueItems", "multipleOf", "enum", "maxProperties", "minProperties", "required", "allOf",
    "oneOf", "anyOf", "not", "properties", "items", "additionalProperties"})
# JSONSchemaProps fields allowed at the root when the status subresource is enabled (validation.go), by JSON name
_ROOT_WITH_STATUS = frozenset({
    "description", "type", "format", "title", "maximum", "exclusiveMaximum", "minimum", "exclusiveMinimum",
    "maxLength", "minLength", "pattern", "maxItems", "minItems", "uniqueItems", "multipleOf", "required", "items",
    "properties", "externalDocs", "example", "x-kubernetes-preserve-unknown-fields", "x-kubernetes-validations"})
_DNS1035_LABEL = re.compile(r"[a-z]([-a-z0-9]*[a-z0-9])?")


# --- the API server's message forms (apimachinery util/validation/field) -------------------------------------

def _required(loc: Loc, detail: str = "") -> Problem:
    return Problem(loc.doc, f"{loc.api}: Required value" + (f": {detail}" if detail else ""))


def _forbidden(loc: Loc, detail: str) -> Problem:
    return Problem(loc.doc, f"{loc.api}: Forbidden: {detail}")


def _invalid(loc: Loc, value: Any, detail: str) -> Problem:
    return Problem(loc.doc, f"{loc.api}: Invalid value: {go_value(value)}: {detail}")


def _not_supported(loc: Loc, value: Any, supported: Iterable[str]) -> Problem:
    options = ", ".join(json.dumps(s) for s in sorted(supported))
    return Problem(loc.doc, f"{loc.api}: Unsupported value: {go_value(value)}: supported values: {options}")


def _dns1123_subdomain(value: str) -> list[str]:
    errs = []
    if len(value) > 253:
        errs.append("must be no more than 253 characters")
    if not re.fullmatch(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*", value):
        errs.append("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or "
                    "'.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used "
                    "for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')")
    return errs


def _dns1035_label(value: str) -> list[str]:
    errs = []
    if len(value) > 63:
        errs.append("must be no more than 63 characters")
    if not _DNS1035_LABEL.fullmatch(value):
        errs.append("a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an "
                    "alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or "
                    "'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')")
    return errs


# --- the OpenAPI schema: supported constructs and x-kubernetes-* consistency (validation.go) ------------------

@dataclass(frozen=True)
class _Std:
    """specStandardValidatorV3's state: defaults allowed here, and whether inside a resource's metadata."""

    allow_defaults: bool = True
    reason: str = ""
    inside_meta: bool = False

    def forbid_defaults(self, reason: str) -> _Std:
        return _Std(False, reason, self.inside_meta)

    def in_meta(self) -> _Std:
        return _Std(self.allow_defaults, self.reason, True)


def _dict(v: Any) -> dict[str, Any]:
    return v if isinstance(v, dict) else {}


def _props(node: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in _dict(node.get("properties")).items() if isinstance(v, dict)}


def _std(node: dict[str, Any], loc: Loc, std: _Std) -> Iterator[Problem]:
    t = node.get("type")
    if t is not None and t != "" and t not in OPENAPI_TYPES:
        yield _not_supported(loc.child("type"), t, OPENAPI_TYPES)
    if "default" in node and node["default"] is not None and not std.allow_defaults:
        yield _forbidden(loc.child("default"), "must not be set" + (f" {std.reason}" if std.reason else ""))
    if node.get("id"):
        yield _forbidden(loc.child("id"), "id is not supported")
    if node.get("additionalItems") is not None:
        yield _forbidden(loc.child("additionalItems"), "additionalItems is not supported")
    for key, what in (("patternProperties", "patternProperties"), ("definitions", "definitions")):
        if node.get(key):
            yield _forbidden(loc.child(key), f"{what} is not supported")
    if node.get("dependencies") is not None:
        yield _forbidden(loc.child("dependencies"), "dependencies is not supported")
    if "$ref" in node:
        yield _forbidden(loc.child("$ref"), "$ref is not supported")
    if t == "null":
        yield _forbidden(loc.child("type"), "type cannot be set to null, use nullable as an alternative")
    if isinstance(node.get("items"), list) and node["items"]:
        yield _forbidden(loc.child("items"), "items must be a schema object and not an array")
    if std.inside_meta and node.get("x-kubernetes-embedded-resource"):
        yield _forbidden(loc.child("x-kubernetes-embedded-resource"), "must not be used inside of resource meta")


def _openapi(node: dict[str, Any], loc: Loc, std: _Std, is_root: bool) -> Iterator[Problem]:
    """ValidateCustomResourceDefinitionOpenAPISchema (without the CEL part, see NODE_CHECKS)."""
    yield from _std(node, loc, std)
    if node.get("uniqueItems") is True:
        yield _forbidden(loc.child("uniqueItems"),
                         "uniqueItems cannot be set to true since the runtime complexity becomes quadratic")
    props = _props(node)
    extra = node.get("additionalProperties")
    if extra is not None:
        if props and (extra is False or isinstance(extra, dict)):
            yield _forbidden(loc.child("additionalProperties"),
                             "additionalProperties and properties are mutual exclusive")
        if isinstance(extra, dict):
            sub = std.forbid_defaults("inside additionalProperties applying to object metadata") \
                if std.inside_meta else std
            yield from _openapi(extra, loc.child("additionalProperties"), sub, False)
    for name, prop in props.items():
        sub = std
        if (is_root or node.get("x-kubernetes-embedded-resource")) and name in _META_FIELDS:
            sub = sub.in_meta()
            if is_root:
                sub = sub.forbid_defaults(f"in top-level {name}")
        yield from _openapi(prop, loc.key("properties", name), sub, False)
    if isinstance(node.get("not"), dict):
        yield from _openapi(node["not"], loc.child("not"), std, False)
    for key in ("allOf", "oneOf", "anyOf"):
        for i, sub_node in enumerate(node.get(key) or ()):
            if isinstance(sub_node, dict):
                yield from _openapi(sub_node, loc.index(key, i), std, False)
    items = node.get("items")
    if isinstance(items, dict):
        yield from _openapi(items, loc.child("items"), std, False)
    elif isinstance(items, list):
        for i, sub_node in enumerate(items):
            if isinstance(sub_node, dict):
                yield from _openapi(sub_node, loc.index("items", i), std, False)
    yield from _extensions(node, loc)


def _extensions(node: dict[str, Any], loc: Loc) -> Iterator[Problem]:
    t = node.get("type") or ""
    if node.get("x-kubernetes-preserve-unknown-fields") is False:
        yield _invalid(loc.child("x-kubernetes-preserve-unknown-fields"), False, "must be true or undefined")
    map_type = node.get("x-kubernetes-map-type")
    if map_type is not None and t != "object":
        yield (_required(loc.child("type"), "must be object if x-kubernetes-map-type is specified") if not t else
               _invalid(loc.child("type"), t, "must be object if x-kubernetes-map-type is specified"))
    if map_type is not None and map_type not in ("atomic", "granular"):
        yield _not_supported(loc.child("x-kubernetes-map-type"), map_type, ("atomic", "granular"))
    list_type = node.get("x-kubernetes-list-type")
    items = node.get("items") if isinstance(node.get("items"), dict) else None
    if list_type is not None and t != "array":
        yield (_required(loc.child("type"), "must be array if x-kubernetes-list-type is specified") if not t else
               _invalid(loc.child("type"), t, "must be array if x-kubernetes-list-type is specified"))
    elif list_type == "set" and items is not None:
        if items.get("type") == "array" and items.get("x-kubernetes-list-type") not in (None, "atomic"):
            yield _invalid(loc.child("items").child("x-kubernetes-list-type"), items.get("x-kubernetes-list-type"),
                           "must be atomic as item of a list with x-kubernetes-list-type=set")
        elif items.get("type") == "object" and items.get("x-kubernetes-map-type") != "atomic":
            # the server quotes the list type here (validation.go passes is.XListType)
            yield _invalid(loc.child("items").child("x-kubernetes-map-type"), items.get("x-kubernetes-list-type"),
                           "must be atomic as item of a list with x-kubernetes-list-type=set")
    if list_type is not None and list_type not in ("atomic", "set", "map"):
        yield _not_supported(loc.child("x-kubernetes-list-type"), list_type, ("atomic", "map", "set"))
    keys = node.get("x-kubernetes-list-map-keys")
    keys = [k for k in keys if isinstance(k, str)] if isinstance(keys, list) else []
    if keys:
        if list_type is None:
            yield _required(loc.child("x-kubernetes-list-type"),
                            "must be map if x-kubernetes-list-map-keys is non-empty")
        elif list_type != "map":
            yield _invalid(loc.child("x-kubernetes-list-type"), list_type,
                           "must be map if x-kubernetes-list-map-keys is non-empty")
    if list_type == "map":
        if not keys:
            yield _required(loc.child("x-kubernetes-list-map-keys"),
                            "must not be empty if x-kubernetes-list-type is map")
        if "items" not in node:
            yield _required(loc.child("items"), "must have a schema if x-kubernetes-list-type is map")
        elif items is None:
            yield _invalid(loc.child("items"), node.get("items"),
                           "must only have a single schema if x-kubernetes-list-type is map")
        elif items.get("type") != "object":
            yield _invalid(loc.child("items").child("type"), items.get("type") or "",
                           "must be object if parent array's x-kubernetes-list-type is map")
        else:
            item_props = _props(items)
            seen: set[str] = set()
            for k in keys:
                if k in item_props:
                    if item_props[k].get("type") in ("array", "object"):
                        yield _invalid(loc.child("items").key("properties", k).child("type"), "object",
                                       "must be a scalar type if parent array's x-kubernetes-list-type is map")
                else:
                    yield _invalid(loc.child("x-kubernetes-list-map-keys"), keys,
                                   "entries must all be names of item properties")
                if k in seen:
                    yield _invalid(loc.child("x-kubernetes-list-map-keys"), keys, "must not contain duplicate entries")
                seen.add(k)
    if list_type in ("set", "map") and items is not None:  # validateMapListKeysMapSet
        if items.get("nullable"):
            yield _forbidden(loc.child("items").child("nullable"),
                             f"cannot be nullable when x-kubernetes-list-type is {list_type}")
        if list_type == "map":
            required = set(items.get("required") or ())
            item_props = _props(items)
            for k in keys:
                prop = item_props.get(k)
                if prop is None:
                    continue
                if k not in required and prop.get("default") is None:
                    yield _required(loc.child("items").key("properties", k).child("default"),
                                    "this property is in x-kubernetes-list-map-keys, so it must have a default or be "
                                    "a required property")
                if prop.get("nullable"):
                    yield _forbidden(loc.child("items").key("properties", k).child("nullable"),
                                     "this property is in x-kubernetes-list-map-keys, so it cannot be nullable")
    for i, rule in enumerate(node.get("x-kubernetes-validations") or ()):
        if isinstance(rule, dict):
            yield from _rule(rule, loc.index("x-kubernetes-validations", i))


def _rule(rule: dict[str, Any], loc: Loc) -> Iterator[Problem]:
    text = rule["rule"] if isinstance(rule.get("rule"), str) else ""
    msg = rule["message"] if isinstance(rule.get("message"), str) else ""
    trimmed_rule, trimmed_msg = text.strip(), msg.strip()
    if not trimmed_rule:
        yield _required(loc.child("rule"), "rule is not specified")
    elif msg and not trimmed_msg:
        yield _invalid(loc.child("message"), msg, "must be non-empty if specified")
    elif "\n" in trimmed_msg or "\r" in trimmed_msg:
        yield _invalid(loc.child("message"), msg, "must not contain line breaks")
    elif ("\n" in trimmed_rule or "\r" in trimmed_rule) and not trimmed_msg:
        yield _required(loc.child("message"), "message must be specified if rule contains line breaks")
    expr = rule.get("messageExpression")
    if isinstance(expr, str) and expr and not expr.strip():
        yield _required(loc.child("messageExpression"), "messageExpression must be non-empty if specified")
    reason = rule.get("reason")
    if reason is not None and reason not in _REASONS:
        yield _not_supported(loc.child("reason"), reason, _REASONS)
    fpath = rule.get("fieldPath")
    if isinstance(fpath, str) and fpath and not fpath.strip():
        yield _invalid(loc.child("fieldPath"), fpath, "must be non-empty if specified")
    if isinstance(fpath, str) and ("\n" in fpath or "\r" in fpath):
        yield _invalid(loc.child("fieldPath"), fpath, "must not contain line breaks")


# --- the structural schema (pkg/apiserver/schema/validation.go, complete.go) ----------------------------------

_ROOT, _ITEM, _FIELD = 0, 1, 2
_INT_OR_STRING_ANY_OF = [{"type": "integer"}, {"type": "string"}]
_NESTED_FORBIDDEN = (  # NewStructural's ForbiddenGenerics / ForbiddenExtensions, in the order checked
    ("default", "must be undefined to be structural"), ("title", "must be empty to be structural"),
    ("description", "must be empty to be structural"), ("nullable", "must be false to be structural"),
    ("x-kubernetes-preserve-unknown-fields", "must be false to be structural"),
    ("x-kubernetes-embedded-resource", "must be false to be structural"),
    ("x-kubernetes-int-or-string", "must be false to be structural"),
    ("x-kubernetes-list-map-keys", "must be empty to be structural"),
    ("x-kubernetes-list-type", "must be undefined to be structural"),
    ("x-kubernetes-map-type", "must be undefined to be structural"),
    ("x-kubernetes-validations", "must be empty to be structural"))


def _strip_examples(node: Any) -> Any:
    return {k: v for k, v in node.items() if k not in ("example", "externalDocs")} if isinstance(node, dict) else node


def _int_or_string_any_of(node: dict[str, Any]) -> bool:
    return [_strip_examples(x) for x in node.get("anyOf") or ()] == _INT_OR_STRING_ANY_OF


def _int_or_string_all_of(node: dict[str, Any]) -> bool:
    all_of = node.get("allOf") or []
    return bool(all_of) and isinstance(all_of[0], dict) and _int_or_string_any_of(all_of[0])


def _structural(node: dict[str, Any], lvl: int, loc: Loc) -> Iterator[Problem]:
    """validateStructuralInvariants."""
    t = node.get("type") or ""
    items = node.get("items")
    if t == "array" and items is None:
        yield _required(loc.child("items"), "must be specified")
    if isinstance(items, dict):
        yield from _structural(items, _ITEM, loc.child("items"))
    props = _props(node)
    for name, prop in props.items():
        yield from _structural(prop, _FIELD, loc.key("properties", name))
    extra = node.get("additionalProperties")
    if extra is not None:
        if lvl == _ROOT:
            yield _forbidden(loc.child("additionalProperties"), "must not be used at the root")
        if isinstance(extra, dict):
            yield from _structural(extra, _FIELD, loc.child("additionalProperties"))
    ios, preserve = bool(node.get("x-kubernetes-int-or-string")), bool(node.get("x-kubernetes-preserve-unknown-fields"))
    embedded = bool(node.get("x-kubernetes-embedded-resource"))
    if ios and preserve:
        yield _invalid(loc.child("x-kubernetes-preserve-unknown-fields"), True,
                       "must be false if x-kubernetes-int-or-string is true")
    if ios and embedded:
        yield _invalid(loc.child("x-kubernetes-embedded-resource"), True,
                       "must be false if x-kubernetes-int-or-string is true")
    yield from _value_validation(node, _int_or_string_any_of(node), _int_or_string_all_of(node), lvl, loc)
    if embedded and t != "object":
        yield (_required(loc.child("type"), "must be object if x-kubernetes-embedded-resource is true") if not t else
               _invalid(loc.child("type"), t, "must be object if x-kubernetes-embedded-resource is true"))
    elif not t and not ios and not preserve:
        where = {_ROOT: "at the root", _ITEM: "for specified array items", _FIELD: "for specified object fields"}[lvl]
        yield _required(loc.child("type"), f"must not be empty {where}")
    if embedded and extra is not None:
        yield _forbidden(loc.child("additionalProperties"), "must not be used if x-kubernetes-embedded-resource is set")
    if lvl == _ROOT and t and t != "object":
        yield _invalid(loc.child("type"), t, "must be object at the root")
    check_meta = lvl == _ROOT or embedded
    for name in ("kind", "apiVersion"):
        if name in props and check_meta and props[name].get("type") != "string":
            yield _invalid(loc.key("properties", name).child("type"), props[name].get("type") or "", "must be string")
    if "metadata" in props:
        yield from _metadata(props["metadata"], check_meta, lvl, loc.key("properties", "metadata"))
    if embedded and not preserve and not props:
        yield _required(loc.child("properties"), "must not be empty if x-kubernetes-embedded-resource is true "
                        "without x-kubernetes-preserve-unknown-fields")


def _metadata(meta: dict[str, Any], check: bool, lvl: int, loc: Loc) -> Iterator[Problem]:
    if check and meta.get("type") != "object":
        yield _invalid(loc.child("type"), meta.get("type") or "", "must be object")
    if lvl == _ROOT:
        left = {k for k in meta if k in _STRUCTURAL_KEYS} - {"type", "default"}
        names = set(_dict(meta.get("properties")))
        if names and names <= {"name", "generateName"}:
            left.discard("properties")
        if left:
            yield _forbidden(loc, "must not specify anything other than name and generateName, but metadata is "
                             "implicitly specified")


def _value_validation(node: dict[str, Any], skip_any_of: bool, skip_first_all_of_any_of: bool, lvl: int,
                      loc: Loc) -> Iterator[Problem]:
    if not skip_any_of:
        for i, sub in enumerate(node.get("anyOf") or ()):
            yield from _nested(_dict(sub), False, lvl, loc.index("anyOf", i))
    for i, sub in enumerate(node.get("allOf") or ()):
        yield from _nested(_dict(sub), skip_first_all_of_any_of and i == 0, lvl, loc.index("allOf", i))
    for i, sub in enumerate(node.get("oneOf") or ()):
        yield from _nested(_dict(sub), False, lvl, loc.index("oneOf", i))
    if isinstance(node.get("not"), dict):
        yield from _nested(node["not"], False, lvl, loc.child("not"))


def _nested(node: dict[str, Any], skip_any_of: bool, lvl: int, loc: Loc) -> Iterator[Problem]:
    """validateNestedValueValidation: inside allOf/anyOf/oneOf/not only value validations may appear."""
    yield from _value_validation(node, skip_any_of, False, lvl, loc)
    if isinstance(node.get("items"), dict):
        yield from _nested(node["items"], False, lvl, loc.child("items"))
    for name, prop in _props(node).items():
        yield from _nested(prop, False, _FIELD, loc.key("properties", name))
    if node.get("type"):
        yield _forbidden(loc.child("type"), "must be empty to be structural")
    if node.get("additionalProperties") is not None:
        yield _forbidden(loc.child("additionalProperties"), "must be undefined to be structural")
    for key, detail in _NESTED_FORBIDDEN:
        value = node.get(key)
        if value is not None and value is not False and value != "" and value != []:
            yield _forbidden(loc.child(key), detail)
    if "metadata" in _props(node):
        yield _forbidden(loc.key("properties", "metadata"), "must not be specified in a nested context")


def _complete(v: dict[str, Any], s: dict[str, Any] | None, s_loc: Loc, v_loc: Loc) -> Iterator[Problem]:
    """validateStructuralCompleteness: what a value validation names must exist in the structural part."""
    if s is None:
        yield Problem(s_loc.doc, f"{s_loc.api}: Required value: because it is defined in {v_loc.api}")
        return
    if isinstance(v.get("not"), dict):
        yield from _complete_nested(v["not"], s, s_loc, v_loc.child("not"))
    for key in ("allOf", "anyOf", "oneOf"):
        for i, sub in enumerate(v.get(key) or ()):
            yield from _complete_nested(_dict(sub), s, s_loc, v_loc.index(key, i))


def _complete_nested(v: dict[str, Any], s: dict[str, Any], s_loc: Loc, v_loc: Loc) -> Iterator[Problem]:
    yield from _complete(v, s, s_loc, v_loc)
    if isinstance(v.get("items"), dict):
        s_items = s.get("items") if isinstance(s.get("items"), dict) else None
        if s_items is None:
            yield Problem(s_loc.doc, f"{s_loc.child('items').api}: Required value: because it is defined in "
                          f"{v_loc.child('items').api}")
        else:
            yield from _complete_nested(v["items"], s_items, s_loc.child("items"), v_loc.child("items"))
    s_props = _props(s)
    for name, sub in _props(v).items():
        if name not in s_props:
            yield Problem(s_loc.doc, f"{s_loc.key('properties', name).api}: Required value: because it is defined in "
                          f"{v_loc.key('properties', name).api}")
        else:
            yield from _complete_nested(sub, s_props[name], s_loc.key("properties", name),
                                        v_loc.key("properties", name))


def _structural_all(node: dict[str, Any], loc: Loc) -> Iterator[Problem]:
    yield from _structural(node, _ROOT, loc)
    yield from _complete_tree(node, loc)


def _complete_tree(node: dict[str, Any], loc: Loc) -> Iterator[Problem]:
    """Completeness is checked at every node of the structural part that carries value validations."""
    yield from _complete(node, node, loc, loc)
    if isinstance(node.get("items"), dict):
        yield from _complete_tree(node["items"], loc.child("items"))
    for name, prop in _props(node).items():
        yield from _complete_tree(prop, loc.key("properties", name))
    if isinstance(node.get("additionalProperties"), dict):
        yield from _complete_tree(node["additionalProperties"], loc.child("additionalProperties"))


# --- defaults: valid against their schema and free of pruned fields (defaulting/validation.go) ----------------

def prune(value: Any, node: dict[str, Any], is_resource_root: bool = False) -> Any:
    """The value the API server keeps of `value` under `node` (pruning/algorithm.go), as a new value."""
    if isinstance(value, dict):
        props = _props(node)
        extra = node.get("additionalProperties")
        keep_all = bool(node.get("x-kubernetes-preserve-unknown-fields"))
        embedded = is_resource_root or bool(node.get("x-kubernetes-embedded-resource"))
        out: dict[str, Any] = {}
        for k, v in value.items():
            if k in props:
                out[k] = prune(v, props[k])
            elif embedded and k in _META_FIELDS:
                out[k] = v
            elif isinstance(extra, dict):
                out[k] = prune(v, extra)
            elif keep_all or extra is True:
                out[k] = v
        return out
    if isinstance(value, list):
        items = _dict(node.get("items"))
        return [prune(v, items) for v in value] if items or not node.get("x-kubernetes-preserve-unknown-fields") \
            else list(value)
    return value


def _defaults(node: dict[str, Any], loc: Loc, inside_meta: bool) -> Iterator[Problem]:
    if "default" in node and node["default"] is not None and not inside_meta:
        default = node["default"]
        if prune(default, node, bool(node.get("x-kubernetes-embedded-resource"))) != default:
            yield _invalid(loc.child("default"), default, "must not have unknown fields")
        else:
            try:
                errors = list(jsonschema_rs.validator_for(attach_defs(convert(node))).iter_errors(default))
            except ValueError:  # a pattern jsonschema-rs cannot compile: the default is not judged
                errors = []
            for err in errors:
                sub = Loc((*loc.doc, "default"), loc.child("default").api)
                for part in err.instance_path:
                    sub = Loc(sub.doc, f"{sub.api}[{part}]" if isinstance(part, int) else f"{sub.api}.{part}")
                yield Problem(loc.child("default").doc, f"{sub.api}: Invalid value: {go_value(err.instance)}: "
                              f"{err.message}")
    if isinstance(node.get("items"), dict):
        yield from _defaults(node["items"], loc.child("items"), inside_meta)
    embedded = bool(node.get("x-kubernetes-embedded-resource"))
    for name, prop in _props(node).items():
        yield from _defaults(prop, loc.key("properties", name), inside_meta or (embedded and name in _META_FIELDS))


def _node_checks(node: dict[str, Any], loc: Loc, minor: str) -> Iterator[Problem]:
    if node.get("x-kubernetes-validations"):
        for check in NODE_CHECKS:
            yield from check(node, loc, minor)
    if isinstance(node.get("items"), dict):
        yield from _node_checks(node["items"], loc.child("items"), minor)
    for name, prop in _props(node).items():
        yield from _node_checks(prop, loc.key("properties", name), minor)
    if isinstance(node.get("additionalProperties"), dict):
        yield from _node_checks(node["additionalProperties"], loc.child("additionalProperties"), minor)


def _schema(open_api: dict[str, Any], loc: Loc, status: bool, minor: str) -> Iterator[Problem]:
    """validateCustomResourceDefinitionValidation for one openAPIV3Schema."""
    if status:
        if open_api.get("type") not in (None, "", "object"):
            yield _invalid(loc.child("type"), open_api["type"],
                           'only "object" is allowed as the type at the root of the schema if the status '
                           "subresource is enabled")
        else:
            extra = sorted(k for k in open_api if k in _STRUCTURAL_KEYS | {"id", "$ref", "definitions",
                           "patternProperties", "dependencies", "additionalItems", "x-kubernetes-map-type",
                           "x-kubernetes-list-type", "x-kubernetes-list-map-keys", "x-kubernetes-embedded-resource",
                           "x-kubernetes-int-or-string"} and k not in _ROOT_WITH_STATUS and open_api[k] not in
                           (None, False, "", [], {}))
            if extra:
                allowed = "[" + " ".join(("Description", "Type", "Format", "Title", "Maximum", "ExclusiveMaximum",
                                          "Minimum", "ExclusiveMinimum", "MaxLength", "MinLength", "Pattern",
                                          "MaxItems", "MinItems", "UniqueItems", "MultipleOf", "Required", "Items",
                                          "Properties", "ExternalDocs", "Example", "XPreserveUnknownFields",
                                          "XValidations")) + "]"
                yield Problem(loc.doc, f"{loc.api}: Invalid value: {extra[0]}: only {allowed} fields are allowed "
                              "at the root of the schema if the status subresource is enabled")
    if open_api.get("nullable"):
        yield _forbidden(loc.child("nullable"), "nullable cannot be true at the root")
    structural = list(_structural_all(open_api, loc))
    yield from structural
    schema_errors = list(_openapi(open_api, loc, _Std(), True))
    yield from schema_errors
    if not structural and not schema_errors:  # (a default is judged by a schema the server accepts)
        defaults = list(_defaults(open_api, loc, False))
        yield from defaults
        if not defaults:
            yield from _node_checks(open_api, loc, minor)


# --- the CRD spec --------------------------------------------------------------------------------------------

def _has_status(version: dict[str, Any]) -> bool:
    return isinstance(_dict(version.get("subresources")).get("status"), dict)


def crd_problems(doc: dict[str, Any], minor: str = "") -> list[Problem]:
    """Every reason the API server refuses this apiextensions.k8s.io/v1 CustomResourceDefinition on create."""
    out: list[Problem] = []
    spec = doc.get("spec")
    if not isinstance(spec, dict):
        return out  # the CRD's own JSON schema reports a missing or mistyped spec
    at = Loc(("spec",), "spec")
    group = spec.get("group")
    if not group:
        out.append(_required(at.child("group")))
    elif isinstance(group, str):
        errs = _dns1123_subdomain(group)
        if errs:
            out.append(_invalid(at.child("group"), group, ",".join(errs)))
        elif "." not in group:
            out.append(_invalid(at.child("group"), group, "should be a domain with at least one dot"))
    scope = spec.get("scope")
    if not scope:
        out.append(_required(at.child("scope")))
    elif scope not in ("Cluster", "Namespaced"):
        out.append(_not_supported(at.child("scope"), scope, ("Cluster", "Namespaced")))
    names = _dict(spec.get("names"))
    plural, kind = names.get("plural"), names.get("kind")
    meta_name = _dict(doc.get("metadata")).get("name")
    if isinstance(meta_name, str) and isinstance(plural, str) and isinstance(group, str) \
            and meta_name != f"{plural}.{group}":  # the name's DNS rules are checked with every kind's metadata
        out.append(_invalid(Loc(("metadata", "name"), "metadata.name"), meta_name,
                            'must be spec.names.plural+"."+spec.group'))
    for key in ("plural", "kind"):
        if not names.get(key):
            out.append(_required(at.child("names").child(key)))
    for key in ("plural", "singular"):
        value = names.get(key)
        if isinstance(value, str) and value and _dns1035_label(value):
            out.append(_invalid(at.child("names").child(key), value, ",".join(_dns1035_label(value))))
    for key in ("kind", "listKind"):
        value = names.get(key)
        if isinstance(value, str) and value and _dns1035_label(value.lower()):
            out.append(_invalid(at.child("names").child(key), value, "may have mixed case, but should otherwise "
                                "match: " + ",".join(_dns1035_label(value.lower()))))
    if kind and kind == names.get("listKind"):
        out.append(_invalid(at.child("names").child("listKind"), kind, "kind and listKind may not be the same"))
    for key in ("shortNames", "categories"):
        for i, value in enumerate(names.get(key) or ()):
            if isinstance(value, str) and _dns1035_label(value):
                out.append(_invalid(at.child("names").index(key, i), value, ",".join(_dns1035_label(value))))
    out.extend(_versions(spec, at, minor))
    return out


def _versions(spec: dict[str, Any], at: Loc, minor: str) -> Iterator[Problem]:
    versions = [v for v in spec.get("versions") or () if isinstance(v, dict)]
    if not versions:
        return  # `versions` is required by the CustomResourceDefinition's own schema, reported there
    names = [v.get("name") for v in versions]
    version_names = json.dumps([n for n in names if isinstance(n, str)], separators=(",", ":"))
    if sum(1 for v in versions if v.get("storage") is True) != 1:
        yield Problem(at.child("versions").doc, f"spec.versions: Invalid value: {version_names}: must have exactly "
                      "one version marked as storage version")
    if len(set(map(str, names))) != len(names):
        yield Problem(at.child("versions").doc, f"spec.versions: Invalid value: {version_names}: must contain "
                      "unique version names")
    for i, name in enumerate(names):
        if isinstance(name, str) and _dns1035_label(name):
            yield _invalid(at.index("versions", i).child("name"), name, ",".join(_dns1035_label(name)))
    schemas = [_dict(v.get("schema")).get("openAPIV3Schema") for v in versions]
    shared = all(json.dumps(v.get("schema"), sort_keys=True) == json.dumps(versions[0].get("schema"), sort_keys=True)
                 for v in versions)
    statuses = [_has_status(v) for v in versions]
    for i, open_api in enumerate(schemas):
        v_loc = at.index("versions", i)
        if not isinstance(open_api, dict):
            yield _required(v_loc.child("schema").child("openAPIV3Schema"))
            continue
        if shared and i > 0:
            continue  # one schema for every version: the server checks it once, as spec.validation
        api = Loc((*v_loc.doc, "schema", "openAPIV3Schema"),
                  "spec.validation.openAPIV3Schema" if shared else f"{v_loc.api}.schema.openAPIV3Schema")
        yield from _schema(open_api, api, any(statuses) if shared else statuses[i], minor)


# --- schema entries of CRDs ----------------------------------------------------------------------------------

def _without_unique_items(node: Any, names: bool = False) -> Any:
    """The converted schema without `uniqueItems`: list-type set duplicates are reported by the list check
    (kvalidate.validation.lists) at the duplicate item, as the API server does. (`uniqueItems: true` written
    in a CRD is refused by the API server, so every one in a valid CRD's conversion comes from a set.)"""
    if isinstance(node, dict):
        if names:
            return {k: _without_unique_items(v) for k, v in node.items()}
        return {k: _without_unique_items(v, k in ("properties", "$defs")) for k, v in node.items()
                if k != "uniqueItems"}
    if isinstance(node, list):
        return [_without_unique_items(v) for v in node]
    return node


def _structural_by_version(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    spec = _dict(doc.get("spec"))
    group = spec.get("group")
    kind = _dict(spec.get("names")).get("kind")
    out: dict[str, dict[str, Any]] = {}
    for v in spec.get("versions") or ():
        if isinstance(v, dict) and isinstance(v.get("name"), str):
            open_api = _dict(v.get("schema")).get("openAPIV3Schema")
            if isinstance(open_api, dict):
                out[f"{group}/{v['name']}"] = open_api
    return out if isinstance(group, str) and isinstance(kind, str) else {}


def crd_entries(doc: Any, source: str, minor: str = "") -> dict[tuple[str, str], SchemaEntry]:
    """The schema entries of one CustomResourceDefinition (any other document gives none): each served kind
    with its strict schema and original structural schema, or, for a CRD the API server refuses, an entry
    marked `broken` with the first reason."""
    if not (isinstance(doc, dict) and doc.get("kind") == "CustomResourceDefinition"
            and str(doc.get("apiVersion", "")).startswith("apiextensions.k8s.io/")):
        return {}
    problems = crd_problems(doc, minor) if doc.get("apiVersion") == "apiextensions.k8s.io/v1" else []
    if problems:
        reason = problems[0].message + (f" (and {len(problems) - 1} more)" if len(problems) > 1 else "")
        return {key: SchemaEntry({}, source, broken=f"its CustomResourceDefinition is invalid: {reason}")
                for key in _served_kinds(doc)}
    structural = _structural_by_version(doc)
    out: dict[tuple[str, str], SchemaEntry] = {}
    for (api_version, kind), schema in schemas_from_crd(doc).items():
        node = structural.get(api_version)
        out[(api_version, kind)] = SchemaEntry(_without_unique_items(schema) if node is not None else schema,
                                               source, structural=node)
    return out


def _served_kinds(doc: dict[str, Any]) -> list[tuple[str, str]]:
    spec = _dict(doc.get("spec"))
    group, kind = spec.get("group"), _dict(spec.get("names")).get("kind")
    if not isinstance(group, str) or not isinstance(kind, str):
        return []
    return [(f"{group}/{v['name']}", kind) for v in spec.get("versions") or ()
            if isinstance(v, dict) and isinstance(v.get("name"), str) and v.get("served", True)]


def entries_in(documents: Iterable[Any], source: str, minor: str = "") -> dict[tuple[str, str], SchemaEntry]:
    """Every served kind of every CustomResourceDefinition among parsed documents (plain data)."""
    out: dict[tuple[str, str], SchemaEntry] = {}
    for doc in documents:
        out.update(crd_entries(doc, source, minor))
    return out
