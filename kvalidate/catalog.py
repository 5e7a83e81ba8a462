"""Every rule id a finding can carry, with its family, default severity and documentation.

One registry for all stages: documents (YAML), schema validation, rendering, the engine's own
failures, runs, and the semantic rules (`kvalidate.rules`, which register their module's `ID`,
`SEVERITY` and docstring here when imported). `kvalidate rules` prints it, SARIF takes rule
descriptions from it, `docs/rules.md` is generated from it (`scripts/gen_rules_doc.py`), and a test
fails when any code path emits an id that is not here. Imports nothing of kvalidate but the model.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from kvalidate.model import Severity


class Family(enum.StrEnum):
    DOCUMENT = "document"  # documents.py: YAML/JSON text -> documents
    SCHEMA = "schema"  # validation/: the API server's (or a component's) strict decoding and validation
    RENDER = "render"  # ansible/: a template or variable that does not render
    ENGINE = "engine"  # ansible/: a task, file or role the run cannot use
    SEMANTIC = "semantic"  # rules/: what no schema expresses
    RUN = "run"  # the run itself: its inputs (extra vars nothing reads), kvalidate's own failures
    GATE = "gate"  # waivers.py: the run's own gate (waivers in templates and kvalidate.yaml)


@dataclass(frozen=True, slots=True)
class RuleInfo:
    id: str
    family: Family
    severity: Severity  # the usual severity; some rules' severity depends on the consumer (see doc)
    summary: str  # one line: SARIF shortDescription, `kvalidate rules`
    doc: str = ""  # more, where a line is not enough (a semantic rule's module docstring)


_E, _W = Severity.ERROR, Severity.WARNING
_CONSUMER = (" Severity follows the consumer: an error where it refuses the document (API server, kubeadm, "
             "scheduler, apiserver configs), a warning where it decodes leniently and drops the field "
             "(kubelet, kube-proxy, kubeconfig); docs/schemas.md has the table.")

_BUILTIN = [
    RuleInfo("yaml-syntax", Family.DOCUMENT, _E, "The file is not valid YAML (or JSON)."),
    RuleInfo("yaml-limits", Family.DOCUMENT, _E,
             "The document exceeds a safety limit: size, nesting depth or alias expansion."),
    RuleInfo("duplicate-key", Family.DOCUMENT, _E, "A mapping sets the same key twice; non-strict decoders keep "
             "the last value, strict consumers refuse the document.", _CONSUMER),
    RuleInfo("not-an-object", Family.DOCUMENT, _E, "A document (or List item) is not a mapping."),
    RuleInfo("missing-kind", Family.DOCUMENT, _E, "A document has no apiVersion or kind."),
    RuleInfo("unknown-field", Family.SCHEMA, _E,
             "A field the schema does not define (API server: strict decoding error: unknown field).", _CONSUMER),
    RuleInfo("required", Family.SCHEMA, _E, "A required field is missing (Required value)."),
    RuleInfo("type", Family.SCHEMA, _E,
             "A value of the wrong JSON type (a string where an integer is expected, ...)."),
    RuleInfo("enum", Family.SCHEMA, _E, "A value outside the supported values (Unsupported value)."),
    RuleInfo("quantity", Family.SCHEMA, _E,
             "A resource quantity that does not follow the Kubernetes quantity grammar."),
    RuleInfo("base64", Family.SCHEMA, _E, "A bytes field (Secret data, CA bundle) that is not base64."),
    RuleInfo("pattern", Family.SCHEMA, _E, "A string that does not match the pattern its field requires."),
    RuleInfo("range", Family.SCHEMA, _E, "A number outside its field's range (int32 overflow, ...)."),
    RuleInfo("schema", Family.SCHEMA, _E, "Any other schema violation."),
    RuleInfo("metadata", Family.SCHEMA, _E,
             "An invalid object name, namespace, label or annotation key (API server name rules)."),
    RuleInfo("api-validation", Family.SCHEMA, _E,
             "What the API server's handwritten validation rejects (422) and no schema says: a volumeMount "
             "naming no volume, a selector that does not match the template labels, duplicate names, port "
             "ranges and names, Service ports.",
             "Duplicate env names and container ports are warnings, as the API server only warns (k/k #121575)."),
    RuleInfo("cel-rule", Family.SCHEMA, _E,
             "A CRD's x-kubernetes-validations rule (CEL) evaluates to false for this custom resource.",
             "Worded as the API server words it: the rule's messageExpression, message or `failed rule: RULE`, "
             "in the form its reason picks (Invalid value, Forbidden, Required value, Duplicate value), at the "
             "rule's node plus its fieldPath. Transition rules (oldSelf) do not run on create and are counted "
             "as skipped. docs/cel.md."),
    RuleInfo("cel-error", Family.SCHEMA, _E,
             "A CRD's x-kubernetes-validations rule fails to evaluate on this custom resource (no such key, "
             "no such overload, division by zero, ...): the API server refuses the object."),
    RuleInfo("cel-cost", Family.SCHEMA, _E,
             "A CRD's x-kubernetes-validations rule exceeds the API server's runtime cost limit (per call "
             "1,000,000, per object 10,000,000): the API server refuses the object.",
             "A warning instead when the rule only ran past kvalidate's own time limit (0.25 s a rule, 2 s an "
             "object): kvalidate's CEL interpreter is much slower than the API server's, so that is no verdict."),
    RuleInfo("unknown-kind", Family.SCHEMA, _E,
             "A kind its apiVersion's group does not have (kinds are case-sensitive: `v1 configmap`), or a built-in "
             "group at a version the minor does not serve (`batch/v1beta1` on 1.30): the API server refuses it. "
             "The message names the close matches or the versions that serve the kind.",
             "Built-in groups: any kind the minor's API lacks. Groups known through CustomResourceDefinitions "
             "(rendered in the cell, `--crds`, the pinned Calico and Cilium CRDs): only a kind that differs from a "
             "known one in case, or a known kind at a version its CRD does not serve; another kind stays "
             "`no-schema`, as kvalidate sees only some CRDs of a group. When the rendered minor is outside the "
             "bundled schemas, a built-in kind is this error only when it differs from a known one in case. A "
             "group nobody knows stays `no-schema`."),
    RuleInfo("crd-structure", Family.SCHEMA, _E,
             "A CustomResourceDefinition the API server refuses to create: an unsupported type, a schema that is "
             "not structural, inconsistent x-kubernetes-* extensions, an invalid or unpruned default, names, "
             "group or versions.",
             "Worded as apiextensions-apiserver words it, at the CRD field's line. The custom resources of such a "
             "CRD are `no-schema` warnings naming the reason: kvalidate does not judge them by a schema the server "
             "refused."),
    RuleInfo("duplicate-value", Family.SCHEMA, _E,
             "An item of an `x-kubernetes-list-type: map` list whose keys repeat an earlier item's (after schema "
             "defaults), or a repeated value of a `set` list (Duplicate value).",
             "An error for custom resources, as the API server refuses them; a warning for built-in kinds, whose "
             "keyed lists the API server accepts with duplicates on create and update (only server-side apply "
             "refuses them), where no handwritten check already reports the item."),
    RuleInfo("no-schema", Family.SCHEMA, _W,
             "No schema is known for this apiVersion and kind: the document was not validated."),
    RuleInfo("undefined-variable", Family.RENDER, _E, "An undefined variable was output or used while rendering; "
             "the message names it and the chain of variables whose templating led to it."),
    RuleInfo("render-error", Family.RENDER, _E, "A template or variable value failed to render: a filter error, "
             "a type error, a syntax error, a missing template file."),
    RuleInfo("variable-cycle", Family.RENDER, _E, "A variable that depends on itself; the message names the chain."),
    RuleInfo("forbidden-lookup", Family.RENDER, _E,
             "A lookup kvalidate does not run (pipe, url, ...): templates are untrusted input."),
    RuleInfo("sandbox", Family.RENDER, _E,
             "A template tried to escape the sandbox, or exceeded the time, size or recursion limits."),
    RuleInfo("load-error", Family.ENGINE, _E, "A playbook, task, role or vars file that cannot be read or parsed."),
    RuleInfo("task-failed", Family.ENGINE, _E,
             "An assert or fail task failed for a host (the host stops, as in Ansible)."),
    RuleInfo("stale-waiver", Family.GATE, _W,
             "A waiver (a `{# kvalidate: ignore[RULE] reason #}` comment in a template, or an `ignore:` entry of "
             "kvalidate.yaml) that matches no defect where this run rendered its template: the defect it was "
             "written for is gone, or the waiver names the wrong rule, line or path.",
             "Judged only against templates the run rendered, and not at all under --shard or --host (the run "
             "saw only part of the cells or hosts). A waiver written for a defect that shows only in some cells "
             "is stale in a run without those cells: run the matrix it was written for."),
    RuleInfo("invalid-waiver", Family.GATE, _W,
             "A `{# kvalidate: ... #}` comment in a template that is not a waiver: it must read "
             "`ignore[RULE] reason` (RULE a rule id, a comma list of them, or a glob; the reason is required)."),
    RuleInfo("unused-extra-var", Family.RUN, _W,
             "An extra variable (-e, --vars, or the matrix file's vars, axes and cells) that no role, playbook, "
             "template or inventory of the checkout reads: it changes nothing, usually a typo.",
             "The message names the closest names the checkout knows (`-e typha_enabeld=true`: did you mean "
             "typha_enabled?). Known names are the identifiers of every file under roles/, playbooks/, "
             "inventory/, plugins/ and library/ and of the top-level playbooks, at every --ref of the run, plus "
             "those of a --inventory's files and of the other extra variables' values; Ansible's own "
             "`ansible_*` variables are never reported. A warning, never a failure: a variable of another "
             "branch is legitimate."),
    RuleInfo("schema-version", Family.RUN, _W,
             "The Kubernetes minor a cell renders has no bundled API schemas: its documents were validated "
             "against the nearest bundled minor, named in the message (once per run).",
             "A field or kind that exists in the rendered minor but was removed before the schemas' minor is "
             "reported as unknown; one added after it is not seen. `--schema-version` picks the schemas "
             "explicitly."),
    RuleInfo("internal-error", Family.RUN, _E, "A bug in kvalidate itself, not in the checked files: the "
             "message names kvalidate's code. Run with KVALIDATE_DEBUG=1 for the traceback, and report it."),
]

CATALOG: dict[str, RuleInfo] = {r.id: r for r in _BUILTIN}


def register(info: RuleInfo) -> None:
    """Add a rule (the semantic rules do, on import); an id may be registered once."""
    if CATALOG.get(info.id, info) != info:
        raise ValueError(f"rule id {info.id!r} registered twice")
    CATALOG[info.id] = info


# pyproject.toml's project.urls Homepage (tests/test_catalog.py checks they agree): where each
# rule's documentation is, for SARIF's helpUri and the markdown report's links
PROJECT_URL = "https://github.com/kvalidate/kvalidate"
RULES_DOC = "docs/rules.md"


def help_uri(rule_id: str) -> str:
    """The rule's section of docs/rules.md on the project's site (its `### id` heading's anchor)."""
    return f"{PROJECT_URL}/blob/main/{RULES_DOC}#{rule_id}"


def summary(rule_id: str) -> str:
    """The one-line description of a rule id (the id itself for an unknown one)."""
    info = CATALOG.get(rule_id)
    return info.summary if info else rule_id
