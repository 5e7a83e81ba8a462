"""Why a document's apiVersion and kind have no schema: a kind its group does not have (an error, as
the API server refuses it) or a group nobody here knows (`no-schema`, a warning).

A group is known when kvalidate has schemas for some kind of it: a built-in API group of the
minor (core `v1`, `apps`, `rbac.authorization.k8s.io`, ...), or a group served by the
CustomResourceDefinitions the run knows (the cell's rendered CRDs, `--crds`, the pinned Calico and
Cilium CRDs, any pinned version of them). The API server answers an unknown kind with `no matches
for kind` and kubectl-validate with `kind configmap not found in v1 groupversion`; kvalidate words it
as kubectl-validate does (its test suite holds the expected Status) and names the close matches.

- Built-in groups: the minor's API is complete, so any kind it lacks is the error (`v1 configmap`:
  kinds are case-sensitive); so is a version the minor does not serve (`batch/v1beta1` on 1.30,
  naming the versions that serve the kind; `extensions/v1beta1 Ingress` names networking.k8s.io/v1).
- Groups known through CRDs: kvalidate sees only some CRDs of a group (the Cilium pins hold five of
  cilium.io's kinds), so a kind it has not seen stays `no-schema`, except a kind that differs from a
  known one only in case, or a known kind at a version its CRD does not serve (a CRD defines every
  version of its kind).

When the store's schemas are not the rendered minor's (a cell rendering a minor outside the
bundled ones is validated with the nearest bundled schemas), a kind or version missing from those
schemas may exist in the rendered minor: it stays `no-schema` unless the kind differs from a known
kind of its group only in case (no Kubernetes version has two kinds that differ only in case).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

from kvalidate.schemas.pinned_crds import all_pinned_kinds
from kvalidate.schemas.store import SchemaStore

_META = "io.k8s.apimachinery.pkg.apis.meta.v1."  # shared types listed under every group-version
_EVERYWHERE = frozenset({"DeleteOptions", "WatchEvent"})
_BUILTIN: dict[str, dict[str, dict[str, set[str]]]] = {}  # minor -> group -> version -> kinds


def split_api_version(api_version: str) -> tuple[str, str]:
    """`apps/v1` -> ("apps", "v1"); `v1` -> ("", "v1")."""
    group, _, version = api_version.rpartition("/")
    return group, version


def _builtin(store: SchemaStore) -> dict[str, dict[str, set[str]]]:
    """group -> version -> kinds of the built-in API of the store's minor. A group-version listed
    only by the shared meta types (DeleteOptions and WatchEvent name every group-version that ever
    existed, removed ones included) is not served; a group with no served version (`extensions`
    after 1.22) maps to no versions: the API server knows no kind of it."""
    served = {av for (av, _), name in store.core.index.items() if not name.startswith(_META)}
    out: dict[str, dict[str, set[str]]] = {}
    for api_version, kind in store.core.index:
        group, version = split_api_version(api_version)
        versions = out.setdefault(group, {})
        if api_version in served and kind not in _EVERYWHERE:
            versions.setdefault(version, set()).add(kind)
    return out


def _custom(store: SchemaStore) -> dict[str, dict[str, set[str]]]:
    """group -> version -> kinds served by the CRDs the store knows (rendered, `--crds`, pinned)."""
    out: dict[str, dict[str, set[str]]] = {}
    keys: Iterable[tuple[str, str]] = [*store.crd_kinds(), *all_pinned_kinds()]
    for api_version, kind in keys:
        group, version = split_api_version(api_version)
        if group:
            out.setdefault(group, {}).setdefault(version, set()).add(kind)
    return out


def _close(kind: str, candidates: Iterable[str]) -> list[str]:
    """Kinds equal but for case first, then difflib's close matches (at most 3)."""
    pool = sorted(k for k in set(candidates) if not k.endswith("List") or kind.endswith("List"))
    same = [k for k in pool if k.lower() == kind.lower() and k != kind]
    if same:
        return same
    lowered = {k.lower(): k for k in pool}
    return [lowered[m] for m in difflib.get_close_matches(kind.lower(), list(lowered), n=3, cutoff=0.75)]


def _join(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]


def unknown_kind(store: SchemaStore, api_version: str, kind: str) -> str | None:
    """The error message for a kind its known group does not have at this version, or None when
    the group is unknown (or, for schemas not of the rendered minor, may have it)."""
    group, version = split_api_version(api_version)
    if store.minor not in _BUILTIN:
        _BUILTIN[store.minor] = _builtin(store)
    builtin = _BUILTIN[store.minor].get(group)
    versions = builtin if builtin is not None else _custom(store).get(group)
    if versions is None or not version or (api_version, kind) == ("v1", "List"):
        return None  # a v1 List whose items are no list: not this rule's to judge
    # The built-in API of the minor is complete; what CRDs tell of a group is only the kinds of the CRDs
    # kvalidate has seen (Cilium's pins hold a few of cilium.io's kinds), complete for those kinds only.
    exact = store.exact if builtin is not None else False
    here = versions.get(version)
    served_as = [f"{group}/{v}" if group else v for v, ks in sorted(versions.items()) if kind in ks]
    if served_as and builtin is not None and not store.exact:
        return None  # the rendered minor may serve the kind at this version
    if not served_as and builtin is not None:  # moved to another group (extensions/v1beta1 Ingress)
        served_as = [f"{g}/{v}" if g else v for g, vs in sorted(_BUILTIN[store.minor].items())
                     for v, ks in sorted(vs.items()) if kind in ks]
    matches = [] if served_as else _close(kind, here if here is not None else
                                          {k for ks in versions.values() for k in ks})
    case_only = bool(matches) and matches[0].lower() == kind.lower()
    if not (exact or case_only or served_as and builtin is None):
        return None
    notes = []
    if here is None and builtin is not None:
        notes.append(f"Kubernetes {store.minor} does not serve {api_version}")
    if served_as:
        notes.append(f"{kind} is served as " + ", ".join(served_as))
    elif matches:
        notes.append(f"did you mean {_join(matches)}?")
    message = f"kind {kind} not found in {api_version} groupversion"
    return message + (": " + "; ".join(notes) if notes else "")
