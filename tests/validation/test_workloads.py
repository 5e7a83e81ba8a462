"""podspec.py: the API server's handwritten workload and Service validation, as findings."""

from __future__ import annotations

import pytest
import yaml

from kvalidate.model import Severity, Source
from kvalidate.schemas.store import SchemaStore
from kvalidate.validation.validate import validate_text


def deployment(**pod: object) -> dict[str, object]:
    spec = {"containers": [{"name": "c", "image": "i"}], **pod}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "d"},
        "spec": {
            "selector": {"matchLabels": {"app": "a"}},
            "template": {"metadata": {"labels": {"app": "a"}}, "spec": spec},
        },
    }


def rules(doc: dict[str, object], store: SchemaStore) -> list[tuple[str, str, Severity]]:
    findings = validate_text(yaml.safe_dump(doc), Source("t.yaml"), store=store)
    return [(f.path, f.message.split(": ", 1)[1], f.severity) for f in findings if f.rule == "api-validation"]


P = "spec.template.spec."
CASES = [
    (deployment(), []),
    (
        deployment(containers=[{"name": "c", "image": "i", "volumeMounts": [{"name": "v", "mountPath": "/v"}]}]),
        [(P + "containers[0].volumeMounts[0].name", 'Not found: "v"', Severity.ERROR)],
    ),
    (
        deployment(containers=[{"name": "c", "image": "i"}, {"name": "c", "image": "j"}]),
        [(P + "containers[1].name", 'Duplicate value: "c"', Severity.ERROR)],
    ),
    (
        deployment(initContainers=[{"name": "c", "image": "i"}]),
        [(P + "containers[0].name", 'Duplicate value: "c"', Severity.ERROR)],
    ),
    (
        deployment(volumes=[{"name": "v", "emptyDir": {}}, {"name": "v", "emptyDir": {}}]),
        [(P + "volumes[1].name", 'Duplicate value: "v"', Severity.ERROR)],
    ),
    (
        deployment(containers=[{"name": "c", "image": ""}]),
        [(P + "containers[0].image", "Required value", Severity.ERROR)],
    ),
    (
        deployment(containers=[{"name": "c", "image": "i", "ports": [{"containerPort": 70000}]}]),
        [
            (
                P + "containers[0].ports[0].containerPort",
                "Invalid value: 70000: must be between 1 and 65535, inclusive",
                Severity.ERROR,
            )
        ],
    ),
    (
        deployment(containers=[{"name": "c", "image": "i", "ports": [{"containerPort": 53, "protocol": "FOO"}]}]),
        [
            (
                P + "containers[0].ports[0].protocol",
                'Unsupported value: "FOO": supported values: "SCTP", "TCP", "UDP"',
                Severity.ERROR,
            )
        ],
    ),
    (
        deployment(
            containers=[{"name": "c", "image": "i", "ports": [{"containerPort": 53, "name": "dns-tcp-metrics-x"}]}]
        ),
        [
            (
                P + "containers[0].ports[0].name",
                'Invalid value: "dns-tcp-metrics-x": must be no more than 15 characters',
                Severity.ERROR,
            )
        ],
    ),
    (
        deployment(containers=[{"name": "c", "image": "i", "env": [{"name": "A", "value": "1"}, {"name": "A"}]}]),
        [
            (
                P + "containers[0].env[1].name",
                'duplicate name "A" (the API server only warns; the last value wins)',
                Severity.WARNING,
            )
        ],
    ),
    (
        deployment(restartPolicy="Never"),
        [(P + "restartPolicy", 'Unsupported value: "Never": supported values: "Always"', Severity.ERROR)],
    ),
]


@pytest.mark.parametrize(("doc", "expected"), CASES)
def test_pod_spec_rules(doc: dict[str, object], expected: list[tuple[str, str, Severity]], store: SchemaStore) -> None:
    assert rules(doc, store) == expected


def test_selector_must_match_template_labels(store: SchemaStore) -> None:
    doc = deployment()
    doc["spec"]["template"]["metadata"]["labels"] = {"app": "b"}  # type: ignore[index]
    [(path, message, _)] = rules(doc, store)
    assert path == "spec.template.metadata.labels"
    assert message.endswith("`selector` does not match template `labels`")


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ({"ports": [{"port": 53}]}, []),
        ({"clusterIP": "None"}, []),
        ({"type": "ExternalName", "externalName": "x.example.com"}, []),
        ({"selector": {"a": "b"}}, [("spec.ports", "Required value")]),
        ({"ports": [{"port": 53}, {"port": 54, "name": "b"}]}, [("spec.ports[0].name", "Required value")]),
        (
            {"ports": [{"port": 53, "nodePort": 30053}]},
            [("spec.ports[0].nodePort", "Forbidden: may not be used when `type` is 'ClusterIP'")],
        ),
        (
            {"ports": [{"port": 53, "targetPort": "Metrics"}]},
            [
                (
                    "spec.ports[0].targetPort",
                    'Invalid value: "Metrics": must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)',
                )
            ],
        ),
    ],
)
def test_service_rules(spec: dict[str, object], expected: list[tuple[str, str]], store: SchemaStore) -> None:
    doc = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"}, "spec": spec}
    assert [(p, m) for p, m, _ in rules(doc, store)] == expected


def test_cronjob_pod_spec_is_checked(store: SchemaStore) -> None:
    doc = {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": {"name": "cj"},
        "spec": {
            "schedule": "* * * * *",
            "jobTemplate": {
                "spec": {
                    "template": {
                        "spec": {
                            "restartPolicy": "OnFailure",
                            "containers": [
                                {"name": "c", "image": "i", "volumeMounts": [{"name": "x", "mountPath": "/x"}]}
                            ],
                        }
                    }
                }
            },
        },
    }
    assert [p for p, _, _ in rules(doc, store)] == [
        "spec.jobTemplate.spec.template.spec.containers[0].volumeMounts[0].name"
    ]
