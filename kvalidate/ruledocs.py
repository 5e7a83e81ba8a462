"""One line of documentation per finding rule: SARIF rule descriptions and `kvalidate rules`.

Rules of other stages (rendering, semantic rules) register here too, so that every rule id that
can appear in a report has a description.
"""

from __future__ import annotations

RULE_DOCS: dict[str, str] = {
    # documents.py
    "yaml-syntax": "The file is not valid YAML (or JSON).",
    "yaml-limits": "The document exceeds a safety limit: size, nesting depth or alias expansion.",
    "duplicate-key": "A mapping sets the same key twice; non-strict decoders keep the last value, "
                     "strict consumers refuse the document.",
    "not-an-object": "A document (or List item) is not a mapping.",
    "missing-kind": "A document has no apiVersion or kind.",
    # validate.py: the API server's strict decoding and schema validation
    "unknown-field": "A field the schema does not define (API server: strict decoding error: unknown field).",
    "required": "A required field is missing (Required value).",
    "type": "A value of the wrong JSON type (a string where an integer is expected, ...).",
    "enum": "A value outside the supported values (Unsupported value).",
    "quantity": "A resource quantity that does not follow the Kubernetes quantity grammar.",
    "base64": "A bytes field (Secret data, CA bundle) that is not base64.",
    "pattern": "A string that does not match the pattern its field requires.",
    "range": "A number outside its field's range (int32 overflow, ...).",
    "schema": "Any other schema violation.",
    "metadata": "An invalid object name, namespace, label or annotation key (API server name rules).",
    "api-validation": "What the API server's handwritten validation rejects (422) and no schema says: a volumeMount "
                      "naming no volume, a selector that does not match the template labels, duplicate names, "
                      "port ranges and names, Service ports.",
    # rules/: semantic rules over all renderings of a cell
    "node-local-cluster-config": "A kubeadm ClusterConfiguration (cluster-wide: kubeadm keeps the first control "
                                 "plane's copy) carries a component flag holding the rendering host's own address.",
    "no-schema": "No schema is known for this apiVersion and kind: the document was not validated.",
}
