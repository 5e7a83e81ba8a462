"""API-server validations of workloads and Services that the OpenAPI schemas do not carry.

The API server's handwritten validation (k8s.io/kubernetes pkg/apis/core/validation ValidatePodSpec,
pkg/apis/apps/validation, ValidateService) rejects with 422 what strict decoding lets through. The
checks here are the ones templated manifests break: a conditional volume
without its mount, a selector edited without the labels, a port from an unset variable. Messages use
the API server's `field.ErrorList` words (`Not found`, `Duplicate value`, `Unsupported value`, ...).
Duplicate env names and container ports are only warnings on the server (k/k PR #121575).

Paths and wording were compared with k8s.io/kubernetes pkg/apis/core/validation/validation.go
(validateContainerPorts, ValidateEnv, ValidatePodSpec's volume and container checks,
validateServicePort, ValidatePortNumOrName) and pkg/apis/apps/validation (selectors); each form has a
table test in tests/validation/test_workloads.py. Where the wording changed between minors it
follows the store's minor: an environment variable name is checked with the relaxed rule from 1.32
(RelaxedEnvironmentVariableValidation on by default) and the C-identifier-like rule before; a map or
struct bad value prints as JSON from 1.34 and as Go's `%#v` before (`map[string]string{"a":"b"}`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from typing import Any, TypeGuard

from kvalidate.model import Severity
from kvalidate.validation.names import DEFAULT_MINOR, dns1123_label, minor_tuple, regex_error

Path_ = tuple[str | int, ...]
Problem = tuple[Severity, Path_, str]

_POD_TEMPLATE_KINDS = {"Deployment", "DaemonSet", "StatefulSet", "ReplicaSet", "Job", "ReplicationController"}
_ALWAYS_RESTART = {"Deployment", "DaemonSet", "StatefulSet", "ReplicaSet", "ReplicationController"}
_PROTOCOLS = ("SCTP", "TCP", "UDP")
_PORT_NAME_CHARSET = re.compile(r"^[-a-z0-9]+$")
_ENV_VAR_FMT = "[-._a-zA-Z][-._a-zA-Z0-9]*"
_ENV_VAR_MSG = ("a valid environment variable name must consist of alphabetic characters, digits, '_', '-', or '.', "
                "and must not start with a digit")
_RELAXED_ENV_VAR_MSG = ("a valid environment variable name must consist only of printable ASCII characters other "
                        "than '='")


def _q(v: Any) -> str:
    """A scalar bad value as field.ErrorBody prints it: strings quoted, numbers and bools bare."""
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    return str(v).lower() if isinstance(v, bool) else repr(v)


def _labels_value(labels: Any, minor: str) -> str:
    """A map[string]string bad value: JSON from 1.34, Go's %#v before (keys sorted either way)."""
    if not isinstance(labels, Mapping):
        return "null" if minor_tuple(minor) >= (1, 34) else "map[string]string(nil)"
    items = sorted((str(k), str(v)) for k, v in labels.items())
    if minor_tuple(minor) >= (1, 34):
        return json.dumps(dict(items), separators=(",", ":"), ensure_ascii=False)
    return "map[string]string{" + ", ".join(f"{json.dumps(k)}:{json.dumps(v)}" for k, v in items) + "}"


def _selector_value(sel: Mapping[str, Any], minor: str) -> str:
    """An empty *metav1.LabelSelector bad value (JSON omits the empty fields)."""
    if minor_tuple(minor) >= (1, 34):
        return "{}"
    labels = "map[string]string{}" if isinstance(sel.get("matchLabels"), Mapping) else "map[string]string(nil)"
    exprs = ("[]v1.LabelSelectorRequirement{}" if isinstance(sel.get("matchExpressions"), list)
             else "[]v1.LabelSelectorRequirement(nil)")
    return f"v1.LabelSelector{{MatchLabels:{labels}, MatchExpressions:{exprs}}}"


def _int(v: Any) -> TypeGuard[int]:
    """An integer the schema can have confirmed (a bool is no port number)."""
    return isinstance(v, int) and not isinstance(v, bool)


def _list(v: Any) -> list[Any]:
    """A list field, or nothing when the document holds something else there (the schema reports
    the type; these checks never guess at data it has not confirmed)."""
    return v if isinstance(v, list) else []


def pod_spec_paths(kind: str, obj: Mapping[str, Any]) -> Iterator[tuple[Path_, Mapping[str, Any]]]:
    """Where the pod spec of an object lives."""
    spec = obj.get("spec")
    if not isinstance(spec, Mapping):
        return
    if kind == "Pod":
        yield ("spec",), spec
    elif kind in _POD_TEMPLATE_KINDS:
        t = spec.get("template")
        if isinstance(t, Mapping) and isinstance(t.get("spec"), Mapping):
            yield ("spec", "template", "spec"), t["spec"]
    elif kind == "CronJob":
        jt = spec.get("jobTemplate")
        t = jt.get("spec", {}).get("template") if isinstance(jt, Mapping) and isinstance(jt.get("spec"), Mapping) \
            else None
        if isinstance(t, Mapping) and isinstance(t.get("spec"), Mapping):
            yield ("spec", "jobTemplate", "spec", "template", "spec"), t["spec"]


def _port_name(name: str) -> list[str]:
    """apimachinery validation.IsValidPortName, in its order."""
    errs = []
    if len(name.encode()) > 15:
        errs.append("must be no more than 15 characters")
    if not _PORT_NAME_CHARSET.match(name):
        errs.append("must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)")
    if not re.search("[a-z]", name):
        errs.append("must contain at least one letter (a-z)")
    if "--" in name:
        errs.append("must not contain consecutive hyphens")
    if name and (name[0] == "-" or name[-1] == "-"):
        errs.append("must not begin or end with a hyphen")
    return errs


def _env_name(name: str, minor: str) -> list[str]:
    """IsRelaxedEnvVarName from 1.32, IsEnvVarName before (the empty name is `Required value`)."""
    if minor_tuple(minor) >= (1, 32):
        bad = any(ord(c) > 127 or not c.isprintable() or c == "=" for c in name)
        return [_RELAXED_ENV_VAR_MSG] if bad else []
    errs = []
    if not re.fullmatch(_ENV_VAR_FMT, name):
        errs.append(regex_error(_ENV_VAR_MSG, _ENV_VAR_FMT, "my.env-name", "MY_ENV.NAME", "MyEnvName1"))
    if name == ".":
        errs.append("must not be '.'")
    elif name == "..":
        errs.append("must not be '..'")
    elif name.startswith(".."):
        errs.append("must not start with '..'")
    return errs


def _ports(base: Path_, ports: Any) -> Iterator[Problem]:
    if not isinstance(ports, list):
        return
    seen: set[tuple[Any, Any]] = set()
    names: set[str] = set()
    for i, p in enumerate(ports):
        if not isinstance(p, Mapping):
            continue
        cp = p.get("containerPort")
        if cp == 0 and _int(cp):
            yield Severity.ERROR, (*base, i, "containerPort"), "Required value"
        elif _int(cp) and not 1 <= cp <= 65535:
            yield Severity.ERROR, (*base, i, "containerPort"), \
                f"Invalid value: {cp}: must be between 1 and 65535, inclusive"
        proto = p.get("protocol")
        if isinstance(proto, str) and proto not in _PROTOCOLS:
            yield Severity.ERROR, (*base, i, "protocol"), \
                f"Unsupported value: {_q(proto)}: supported values: " + ", ".join(_q(x) for x in _PROTOCOLS)
        name = p.get("name")
        if isinstance(name, str) and name:
            for e in _port_name(name):
                yield Severity.ERROR, (*base, i, "name"), f"Invalid value: {_q(name)}: {e}"
            if name in names:
                yield Severity.ERROR, (*base, i, "name"), f"Duplicate value: {_q(name)}"
            names.add(name)
        if not _int(cp) or not (proto is None or isinstance(proto, str)):
            continue  # a port of the wrong type: the schema's finding; nothing to compare
        key = (cp, proto or "TCP")
        if key in seen:
            yield Severity.WARNING, (*base, i), f"duplicate port definition with containerPort {cp} and " \
                f"protocol {key[1]} (the API server only warns)"
        seen.add(key)


def _container(base: Path_, c: Mapping[str, Any], volumes: set[str] | None, minor: str) -> Iterator[Problem]:
    name = c.get("name")
    if isinstance(name, str) and name:
        for e in dns1123_label(name):
            yield Severity.ERROR, (*base, "name"), f"Invalid value: {_q(name)}: {e}"
    image = c.get("image")
    if image is None or (isinstance(image, str) and not image.strip()):
        yield Severity.ERROR, (*base, "image"), "Required value"
    yield from _ports((*base, "ports"), c.get("ports"))
    env_names: set[str] = set()
    for i, e in enumerate(_list(c.get("env"))):
        if not isinstance(e, Mapping):
            continue
        en = e.get("name")
        if isinstance(en, str):
            if not en:
                yield Severity.ERROR, (*base, "env", i, "name"), "Required value"
            errs = _env_name(en, minor) if en else []
            for err in errs:
                yield Severity.ERROR, (*base, "env", i, "name"), f"Invalid value: {_q(en)}: {err}"
            if en and not errs and en in env_names:
                yield Severity.WARNING, (*base, "env", i, "name"), \
                    f"duplicate name {_q(en)} (the API server only warns; the last value wins)"
            env_names.add(en)
    paths: set[str] = set()
    for i, m in enumerate(_list(c.get("volumeMounts"))):
        if not isinstance(m, Mapping):
            continue
        mn = m.get("name")
        if volumes is not None and isinstance(mn, str) and mn not in volumes:
            yield Severity.ERROR, (*base, "volumeMounts", i, "name"), f"Not found: {_q(mn)}"
        mp = m.get("mountPath")
        if isinstance(mp, str):
            if mp in paths:
                yield Severity.ERROR, (*base, "volumeMounts", i, "mountPath"), \
                    f"Invalid value: {_q(mp)}: must be unique"
            paths.add(mp)


def check_pod_spec(base: Path_, spec: Mapping[str, Any], kind: str, minor: str = DEFAULT_MINOR) -> Iterator[Problem]:
    volumes: set[str] = set()
    for i, v in enumerate(_list(spec.get("volumes"))):
        vn = v.get("name") if isinstance(v, Mapping) else None
        if isinstance(vn, str):
            if vn in volumes:
                yield Severity.ERROR, (*base, "volumes", i, "name"), f"Duplicate value: {_q(vn)}"
            for e in dns1123_label(vn):
                yield Severity.ERROR, (*base, "volumes", i, "name"), f"Invalid value: {_q(vn)}: {e}"
            volumes.add(vn)
    names: set[str] = set()
    for group in ("initContainers", "containers"):
        for i, c in enumerate(_list(spec.get(group))):
            if not isinstance(c, Mapping):
                continue
            cn = c.get("name")
            if isinstance(cn, str):
                if cn in names:
                    yield Severity.ERROR, (*base, group, i, "name"), f"Duplicate value: {_q(cn)}"
                names.add(cn)
            yield from _container((*base, group, i), c, volumes, minor)
    restart = spec.get("restartPolicy")
    if kind in _ALWAYS_RESTART and isinstance(restart, str) and restart != "Always":
        yield Severity.ERROR, (*base, "restartPolicy"), f'Unsupported value: {_q(restart)}: supported values: "Always"'


def _selector_matches(selector: Mapping[str, Any], labels: Mapping[str, Any]) -> bool:
    """False only when the selector, read as the schema types it, surely misses the labels; a part of
    the wrong type (the schema's finding) cannot be evaluated and counts as matching."""
    match = selector.get("matchLabels") or {}
    if isinstance(match, Mapping) and any(labels.get(k) != v for k, v in match.items()):
        return False
    for expr in _list(selector.get("matchExpressions")):
        if not isinstance(expr, Mapping):
            continue
        key, op, values = expr.get("key"), expr.get("operator"), expr.get("values") or []
        if not isinstance(key, str) or not isinstance(values, list):
            continue
        value = labels.get(key)
        if op == "In" and value not in values or op == "NotIn" and value in values \
                or op == "Exists" and key not in labels or op == "DoesNotExist" and key in labels:
            return False
    return True


def check_workload(kind: str, obj: Mapping[str, Any], minor: str = DEFAULT_MINOR) -> Iterator[Problem]:
    """Every problem of one object of a workload kind or a Service, worded as Kubernetes `minor` words it."""
    spec = obj.get("spec")
    if kind in _POD_TEMPLATE_KINDS - {"Job", "ReplicationController"} and isinstance(spec, Mapping):
        sel = spec.get("selector")
        template = spec.get("template")
        labels = template.get("metadata", {}).get("labels") if isinstance(template, Mapping) and \
            isinstance(template.get("metadata"), Mapping) else None
        if not isinstance(sel, Mapping):
            yield Severity.ERROR, ("spec", "selector"), "Required value"
        elif not sel.get("matchLabels") and not sel.get("matchExpressions"):
            # pkg/apis/apps/validation: ReplicaSet's message says "deployment" too
            which = "deployment" if kind == "ReplicaSet" else kind.lower()
            yield Severity.ERROR, ("spec", "selector"), \
                f"Invalid value: {_selector_value(sel, minor)}: empty selector is invalid for {which}"
        elif isinstance(template, Mapping) and not _selector_matches(sel, labels if isinstance(labels, Mapping)
                                                                      else {}):
            yield Severity.ERROR, ("spec", "template", "metadata", "labels"), \
                f"Invalid value: {_labels_value(labels, minor)}: `selector` does not match template `labels`"
    for base, pod in pod_spec_paths(kind, obj):
        yield from check_pod_spec(base, pod, kind, minor)
    if kind == "Service" and isinstance(spec, Mapping):
        yield from _service(spec)


def _service(spec: Mapping[str, Any]) -> Iterator[Problem]:
    stype = spec.get("type") or "ClusterIP"
    if not isinstance(stype, str):
        stype = "ClusterIP"  # the schema reports the type; check the rest as the default type
    headless = spec.get("clusterIP") == "None"
    ports = spec.get("ports")
    if not ports and stype != "ExternalName" and not headless:
        yield Severity.ERROR, ("spec", "ports"), "Required value"
    names: set[str] = set()
    for i, p in enumerate(ports if isinstance(ports, list) else []):
        if not isinstance(p, Mapping):
            continue
        port = p.get("port")
        if _int(port) and not 1 <= port <= 65535:
            yield Severity.ERROR, ("spec", "ports", i, "port"), \
                f"Invalid value: {port}: must be between 1 and 65535, inclusive"
        name = p.get("name")
        if isinstance(ports, list) and len(ports) > 1 and not name:
            yield Severity.ERROR, ("spec", "ports", i, "name"), "Required value"
        if isinstance(name, str) and name:
            for e in dns1123_label(name):
                yield Severity.ERROR, ("spec", "ports", i, "name"), f"Invalid value: {_q(name)}: {e}"
            if name in names:
                yield Severity.ERROR, ("spec", "ports", i, "name"), f"Duplicate value: {_q(name)}"
            names.add(name)
        proto = p.get("protocol")
        if isinstance(proto, str) and proto not in _PROTOCOLS:
            yield Severity.ERROR, ("spec", "ports", i, "protocol"), \
                f"Unsupported value: {_q(proto)}: supported values: " + ", ".join(_q(x) for x in _PROTOCOLS)
        target = p.get("targetPort")  # 0 or "": defaulted to `port` before validation
        if _int(target) and target != 0 and not 1 <= target <= 65535:
            yield Severity.ERROR, ("spec", "ports", i, "targetPort"), \
                f"Invalid value: {target}: must be between 1 and 65535, inclusive"
        elif isinstance(target, str) and target:
            for e in _port_name(target):
                yield Severity.ERROR, ("spec", "ports", i, "targetPort"), f"Invalid value: {_q(target)}: {e}"
        if p.get("nodePort") not in (None, 0) and stype not in ("NodePort", "LoadBalancer"):
            yield Severity.ERROR, ("spec", "ports", i, "nodePort"), \
                f"Forbidden: may not be used when `type` is '{stype}'"
