"""API-server checks that the OpenAPI schemas do not express: object names, labels and annotations.

The schemas carry no name or label rules at all, so `metadata.name:
Bad_Name` would pass. The API server checks names per kind (k8s.io/apimachinery
pkg/util/validation/validation.go and each group's `ValidateXName`): most kinds take an RFC 1123
subdomain, Namespace an RFC 1123 label, Service an RFC 1035 label, and RBAC kinds only a path
segment, so `system:coredns` is valid for a ClusterRole. `generateName` may stand in for `name`.

Messages and paths are the API server's (apimachinery pkg/api/validation/objectmeta.go,
pkg/apis/meta/v1/validation ValidateLabels, `field.ErrorList` wording): a label or annotation
problem is reported at `metadata.labels` / `metadata.annotations`, as the server does, while the
finding's line stays the label's own (each problem carries the path of its line apart). Wording that
changed between minors follows the store's minor: `field.TooLong` says "must have at most N bytes"
before 1.32 and "may not be more than N bytes" from 1.32 (apimachinery v0.31 vs v0.32); label keys
and values "must be no more than 63 characters" before 1.35 and "bytes" from 1.35 (the
`validate/content` package; object names keep "characters").
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from typing import Any

_SUBDOMAIN_FMT = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*"
_LABEL_1123_FMT = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_LABEL_1035_FMT = r"[a-z]([-a-z0-9]*[a-z0-9])?"
_QUALIFIED_NAME_FMT = r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
_SUBDOMAIN_RX = re.compile(f"^{_SUBDOMAIN_FMT}$")
_LABEL_1123_RX = re.compile(f"^{_LABEL_1123_FMT}$")
_QUALIFIED_RX = re.compile(f"^{_QUALIFIED_NAME_FMT}$")
_VALUE_RX = re.compile(f"^({_QUALIFIED_NAME_FMT})?$")
TOTAL_ANNOTATION_SIZE = 256 * 1024
DEFAULT_MINOR = "1.37"

Path_ = tuple[str | int, ...]
Problem = tuple[Path_, str, Path_]  # (path as the server prints it, message without the path, path of the line)


def minor_tuple(minor: str) -> tuple[int, int]:
    major, _, rest = minor.partition(".")
    return int(major), int(rest or 0)


def _size(value: str) -> int:
    """Length as Go's len(): bytes of the UTF-8 encoding."""
    return len(value.encode("utf-8", "surrogatepass"))


def regex_error(msg: str, fmt: str, *examples: str) -> str:
    """apimachinery validation.RegexError."""
    if not examples:
        return f"{msg} (regex used for validation is '{fmt}')"
    return msg + " (e.g. " + " or ".join(f"'{e}', " for e in examples) + f"regex used for validation is '{fmt}')"


def max_len_error(n: int, unit: str = "characters") -> str:
    return f"must be no more than {n} {unit}"


def too_long(n: int, minor: str) -> str:
    """field.TooLong's message, without its "Too long: " type."""
    return f"may not be more than {n} bytes" if minor_tuple(minor) >= (1, 32) else f"must have at most {n} bytes"


_SUBDOMAIN_MSG = ("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', "
                  "and must start and end with an alphanumeric character")
_LABEL_1123_MSG = ("a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must "
                   "start and end with an alphanumeric character")
_LABEL_1035_MSG = ("a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an "
                   "alphabetic character, and end with an alphanumeric character")
_KEY_MSG = ("must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "
            "alphanumeric character")
_VALUE_MSG = ("a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and "
              "must start and end with an alphanumeric character")


def dns1123_subdomain(value: str, unit: str = "characters") -> list[str]:
    errs = []
    if _size(value) > 253:
        errs.append(max_len_error(253, unit))
    if not _SUBDOMAIN_RX.match(value):
        errs.append(regex_error(_SUBDOMAIN_MSG, _SUBDOMAIN_FMT, "example.com"))
    return errs


def dns1123_label(value: str) -> list[str]:
    errs = []
    if _size(value) > 63:
        errs.append(max_len_error(63))
    if not _LABEL_1123_RX.match(value):
        # a valid subdomain that is no label: its length was checked, so it has dots
        errs.append("must not contain dots" if _SUBDOMAIN_RX.match(value) else
                    regex_error(_LABEL_1123_MSG, _LABEL_1123_FMT, "my-name", "123-abc"))
    return errs


def dns1035_label(value: str) -> list[str]:
    errs = []
    if _size(value) > 63:
        errs.append(max_len_error(63))
    if not re.match(f"^{_LABEL_1035_FMT}$", value):
        errs.append(regex_error(_LABEL_1035_MSG, _LABEL_1035_FMT, "my-name", "abc-123"))
    return errs


def path_segment(value: str) -> list[str]:
    """k8s.io/apimachinery pkg/api/validation/path: IsValidPathSegmentName (RBAC names)."""
    if value in (".", ".."):
        return [f"may not be '{value}'"]
    return [f"may not contain '{c}'" for c in ("/", "%") if c in value]


def path_segment_prefix(value: str) -> list[str]:
    """IsValidPathSegmentPrefix: for an RBAC generateName."""
    return [f"may not contain '{c}'" for c in ("/", "%") if c in value]


def _mask_trailing_dash(name: str) -> str:
    """apimachinery maskTrailingDash: a generateName prefix may end in '-'."""
    return name[:-2] + "a" if len(name) > 1 and name.endswith("-") else name


NameCheck = Callable[[str, bool], list[str]]


def _dns(check: Callable[[str], list[str]]) -> NameCheck:
    return lambda name, prefix: check(_mask_trailing_dash(name) if prefix else name)


def _name_check(api_version: str, kind: str) -> NameCheck:
    group = api_version.rpartition("/")[0]
    if group == "rbac.authorization.k8s.io":
        return lambda name, prefix: path_segment_prefix(name) if prefix else path_segment(name)
    if group == "" and kind == "Namespace":
        return _dns(dns1123_label)
    if group == "" and kind == "Service":
        return _dns(dns1035_label)
    return _dns(dns1123_subdomain)


def label_key(key: str, minor: str = DEFAULT_MINOR) -> list[str]:
    """apimachinery IsQualifiedName (content.IsLabelKey): a name with an optional DNS subdomain prefix."""
    unit = "bytes" if minor_tuple(minor) >= (1, 35) else "characters"
    parts = key.split("/")
    errs: list[str] = []
    if len(parts) > 2:
        return ["a valid label key " + regex_error(_KEY_MSG, _QUALIFIED_NAME_FMT, "MyName", "my.name", "123-abc")
                + " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"]
    name = parts[-1]
    if len(parts) == 2:
        prefix = parts[0]
        if not prefix:
            errs.append("prefix part must be non-empty")
        else:
            errs += [f"prefix part {e}" for e in dns1123_subdomain(prefix, unit)]
    if not name:
        errs.append("name part must be non-empty")
    elif _size(name) > 63:
        errs.append("name part " + max_len_error(63, unit))
    if not _QUALIFIED_RX.match(name):
        errs.append("name part " + regex_error(_KEY_MSG, _QUALIFIED_NAME_FMT, "MyName", "my.name", "123-abc"))
    return errs


def label_value(value: str, minor: str = DEFAULT_MINOR) -> list[str]:
    """apimachinery IsValidLabelValue (content.IsLabelValue)."""
    errs = []
    if _size(value) > 63:
        errs.append(max_len_error(63, "bytes" if minor_tuple(minor) >= (1, 35) else "characters"))
    if not _VALUE_RX.match(value):
        errs.append(regex_error(_VALUE_MSG, f"({_QUALIFIED_NAME_FMT})?", "MyValue", "my_value", "12345"))
    return errs


def quote(value: Any) -> str:
    """A string bad value as Go's %q prints it (JSON escaping is close enough for what templates write)."""
    return json.dumps(value, ensure_ascii=False)


def check_metadata(data: dict[str, Any], api_version: str, kind: str,
                   minor: str = DEFAULT_MINOR) -> Iterator[Problem]:
    """Name, label and annotation problems of one object, in the API server's order
    (ValidateObjectMetaAccessor): generateName, name, namespace, labels, annotations."""
    meta = data.get("metadata")
    if not isinstance(meta, dict):
        meta = {}  # no metadata at all: the server sees an empty name
    name, generate = meta.get("name"), meta.get("generateName")
    check = _name_check(api_version, kind)
    if isinstance(generate, str) and generate:
        for err in check(generate, True):
            yield ("metadata", "generateName"), f"Invalid value: {quote(generate)}: {err}", ("metadata", "generateName")
    if isinstance(name, str) and name:
        for err in check(name, False):
            yield ("metadata", "name"), f"Invalid value: {quote(name)}: {err}", ("metadata", "name")
    elif not (isinstance(generate, str) and generate):
        # with a generateName the server generates the name before validating it
        yield ("metadata", "name"), "Required value: name or generateName is required", ("metadata", "name")
    ns = meta.get("namespace")
    if isinstance(ns, str) and ns:
        for err in dns1123_label(ns):
            yield ("metadata", "namespace"), f"Invalid value: {quote(ns)}: {err}", ("metadata", "namespace")
    labels = meta.get("labels")
    if isinstance(labels, dict):
        for key, value in labels.items():
            if not isinstance(key, str):
                continue
            at: Path_ = ("metadata", "labels", key)
            for err in label_key(key, minor):
                yield ("metadata", "labels"), f"Invalid value: {quote(key)}: {err}", at
            if isinstance(value, str):
                for err in label_value(value, minor):
                    yield ("metadata", "labels"), f"Invalid value: {quote(value)}: {err}", at
    annotations = meta.get("annotations")
    if isinstance(annotations, dict):
        total = 0
        for key, value in annotations.items():
            if not isinstance(key, str):
                continue
            total += _size(key) + (_size(value) if isinstance(value, str) else 0)
            # "The rule is QualifiedName except that case doesn't matter" (objectmeta.go)
            at = ("metadata", "annotations", key)
            for err in label_key(key.lower(), minor):
                yield ("metadata", "annotations"), f"Invalid value: {quote(key)}: {err}", at
        if total > TOTAL_ANNOTATION_SIZE:
            yield (("metadata", "annotations"), f"Too long: {too_long(TOTAL_ANNOTATION_SIZE, minor)}",
                   ("metadata", "annotations"))
