"""API-server checks that the OpenAPI schemas do not express: object names and labels.

The schemas carry no name or label rules at all, so `metadata.name:
Bad_Name` would pass. The API server checks names per kind (k8s.io/apimachinery
pkg/util/validation/validation.go and each group's `ValidateXName`): most kinds take an RFC 1123
subdomain, Namespace an RFC 1123 label, Service an RFC 1035 label, and RBAC kinds only a path
segment, so `system:coredns` is valid for a ClusterRole. `generateName` may stand in for `name`.
Messages are the API server's (`field.ErrorList` wording).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

_SUBDOMAIN_FMT = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*"
_LABEL_1123_FMT = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_LABEL_1035_FMT = r"[a-z]([-a-z0-9]*[a-z0-9])?"
_QUALIFIED_NAME_FMT = r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"

Problem = tuple[tuple[str | int, ...], str]  # (path, message without the path)


def _regex_check(fmt: str, max_len: int, what: str, example: str) -> Callable[[str], list[str]]:
    rx = re.compile(f"^{fmt}$")

    def check(value: str) -> list[str]:
        errs = []
        if len(value) > max_len:
            errs.append(f"must be no more than {max_len} characters")
        if not rx.match(value):
            errs.append(f"{what} (e.g. {example}, regex used for validation is '{fmt}')")
        return errs

    return check


dns1123_subdomain = _regex_check(
    _SUBDOMAIN_FMT, 253,
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', "
    "and must start and end with an alphanumeric character", "'example.com'")
dns1123_label = _regex_check(
    _LABEL_1123_FMT, 63,
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must "
    "start and end with an alphanumeric character", "'my-name',  or '123-abc'")
dns1035_label = _regex_check(
    _LABEL_1035_FMT, 63,
    "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an "
    "alphabetic character, and end with an alphanumeric character", "'my-name',  or 'abc-123'")


def path_segment(value: str) -> list[str]:
    """k8s.io/apimachinery pkg/api/validation/path: IsValidPathSegmentName (RBAC names)."""
    if value in (".", ".."):
        return [f"may not be '{value}'"]
    return [f"may not contain '{c}'" for c in ("/", "%") if c in value]


def _name_check(api_version: str, kind: str) -> Callable[[str], list[str]]:
    group = api_version.rpartition("/")[0]
    if group == "rbac.authorization.k8s.io":
        return path_segment
    if group == "" and kind == "Namespace":
        return dns1123_label
    if group == "" and kind == "Service":
        return dns1035_label
    return dns1123_subdomain


def _label_key(key: str) -> list[str]:
    prefix, _, name = key.rpartition("/")
    errs = []
    if prefix:
        errs += [f"prefix part {e}" for e in dns1123_subdomain(prefix)]
    if not name or len(name) > 63 or not re.fullmatch(_QUALIFIED_NAME_FMT, name):
        errs.append("name part must consist of alphanumeric characters, '-', '_' or '.', and must "
                    "start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or "
                    f"'123-abc', regex used for validation is '{_QUALIFIED_NAME_FMT}')")
    return errs


def _label_value(value: str) -> list[str]:
    errs = []
    if len(value) > 63:
        errs.append("must be no more than 63 characters")
    if value and not re.fullmatch(_QUALIFIED_NAME_FMT, value):
        errs.append("a valid label must be an empty string or consist of alphanumeric characters, "
                    "'-', '_' or '.', and must start and end with an alphanumeric character (e.g. "
                    f"'MyValue',  or 'my_value',  or '12345', regex used for validation is "
                    f"'(({_QUALIFIED_NAME_FMT})?')")
    return errs


def _q(value: Any) -> str:
    return f'"{value}"' if isinstance(value, str) else repr(value)


def check_metadata(data: dict[str, Any], api_version: str, kind: str) -> Iterator[Problem]:
    """Name and label problems of one object, as (path, message) pairs."""
    meta = data.get("metadata")
    if not isinstance(meta, dict):
        yield ("metadata",), "Required value: name or generateName is required"
        return
    name, generate = meta.get("name"), meta.get("generateName")
    check = _name_check(api_version, kind)
    if isinstance(name, str) and name:
        for err in check(name):
            yield ("metadata", "name"), f"Invalid value: {_q(name)}: {err}"
    elif not (isinstance(generate, str) and generate):
        yield ("metadata", "name"), "Required value: name or generateName is required"
    if isinstance(generate, str) and generate:
        # The server appends 5 random characters; the prefix itself is checked loosely.
        for err in check(generate.rstrip("-") + "a" if check is not path_segment else generate):
            yield ("metadata", "generateName"), f"Invalid value: {_q(generate)}: {err}"
    ns = meta.get("namespace")
    if isinstance(ns, str) and ns:
        for err in dns1123_label(ns):
            yield ("metadata", "namespace"), f"Invalid value: {_q(ns)}: {err}"
    labels = meta.get("labels")
    if isinstance(labels, dict):
        for key, value in labels.items():
            if not isinstance(key, str):
                continue
            for err in _label_key(key):
                yield ("metadata", "labels", key), f"Invalid value: {_q(key)}: {err}"
            if isinstance(value, str):
                for err in _label_value(value):
                    yield ("metadata", "labels", key), f"Invalid value: {_q(value)}: {err}"
    annotations = meta.get("annotations")
    if isinstance(annotations, dict):
        for key in annotations:
            for err in _label_key(key) if isinstance(key, str) else ():
                yield ("metadata", "annotations", key), f"Invalid value: {_q(key)}: {err}"
