"""Component-config schemas: lookup by minor, consumer severity, and the issue's acceptance cases."""

from __future__ import annotations

import textwrap
from typing import Any

import jsonschema_rs
import pytest

from kvalidate import components
from kvalidate.model import Severity, Source
from kvalidate.pinned import pinned_schemas
from kvalidate.schemastore import SchemaStore
from kvalidate.validate import validate_text

KUBELET = "kubelet.config.k8s.io/v1beta1"
KUBEADM4 = "kubeadm.k8s.io/v1beta4"
KUBEADM3 = "kubeadm.k8s.io/v1beta3"
PROXY = "kubeproxy.config.k8s.io/v1alpha1"
SCHED = "kubescheduler.config.k8s.io/v1"


def test_covered_minors_are_contiguous() -> None:
    minors = components.covered_minors()
    assert minors[0] == "1.27" and minors[-1] == "1.36"
    assert [int(m.split(".")[1]) for m in minors] == list(range(27, 37))


@pytest.mark.parametrize(("minor", "api_version", "kind", "picked", "note"), [
    ("1.33", KUBELET, "KubeletConfiguration", "v1.33", ""),
    ("1.37", KUBELET, "KubeletConfiguration", "v1.36", "; Kubernetes 1.37 has no generated schemas, the newest used"),
    ("1.25", KUBELET, "KubeletConfiguration", "v1.27", "; not yet in Kubernetes 1.25's types (first in 1.27), "
     "schema of 1.27 used"),
    ("1.29", KUBEADM4, "ClusterConfiguration", "v1.31", "; not yet in Kubernetes 1.29's types (first in 1.31), "
     "schema of 1.31 used"),
    ("1.33", "kubescheduler.config.k8s.io/v1beta3", "KubeSchedulerConfiguration", "v1.28",
     "; not in Kubernetes 1.33's types (last in 1.28), schema of 1.28 used"),
    ("1.30", KUBEADM3, "ClusterConfiguration", "v1.30", ""),
    ("1.36", "v1", "Config", "v1.36", ""),
    ("1.28", "apiserver.config.k8s.io/v1", "EncryptionConfiguration", "v1.28", ""),  # pkg/apis/config/v1
])
def test_lookup_picks_nearest_minor(minor: str, api_version: str, kind: str, picked: str, note: str) -> None:
    entry = components.lookup(minor, api_version, kind)
    assert entry is not None
    assert entry.source.startswith(f"components {picked} (") and entry.source.endswith(")" + note)
    assert entry.schema["properties"]["kind"] == {"const": kind}


@pytest.mark.parametrize(("minor", "api_version", "kind", "reason"), [
    ("1.33", "kubescheduler.config.k8s.io/v1beta3", "KubeSchedulerConfiguration",
     "kubescheduler.config.k8s.io/v1beta3 KubeSchedulerConfiguration is no longer served by Kubernetes 1.33 "
     "(last in 1.28)"),
    ("1.29", KUBEADM4, "InitConfiguration",
     "kubeadm.k8s.io/v1beta4 InitConfiguration is not served yet by Kubernetes 1.29 (first in 1.31)"),
    ("1.28", "kubescheduler.config.k8s.io/v1beta3", "KubeSchedulerConfiguration", None),
    ("1.37", KUBELET, "KubeletConfiguration", None),  # beyond the generated range: unknown, not absent
    ("1.25", KUBELET, "KubeletConfiguration", None),
    ("1.33", "example.com/v1", "Nothing", None),
])
def test_unserved(minor: str, api_version: str, kind: str, reason: str | None) -> None:
    assert components.unserved(minor, api_version, kind) == reason


@pytest.mark.parametrize(("api_version", "kind"), [
    ("apps/v1", "Deployment"), (KUBEADM4, "NoSuchConfiguration"), ("metallb.io/v1beta1", "IPAddressPool"),
])
def test_lookup_unknown(api_version: str, kind: str) -> None:
    assert components.lookup("1.33", api_version, kind) is None


@pytest.mark.parametrize(("api_version", "kind", "severity"), [
    (KUBEADM4, "InitConfiguration", Severity.ERROR),
    (KUBELET, "KubeletConfiguration", Severity.WARNING),
    ("kubelet.config.k8s.io/v1", "CredentialProviderConfig", Severity.ERROR),
    (PROXY, "KubeProxyConfiguration", Severity.WARNING),
    (SCHED, "KubeSchedulerConfiguration", Severity.ERROR),
    ("apiserver.config.k8s.io/v1", "AdmissionConfiguration", Severity.ERROR),
    ("apiserver.config.k8s.io/v1", "EncryptionConfiguration", Severity.ERROR),
    ("apiserver.config.k8s.io/v1beta1", "TracingConfiguration", Severity.ERROR),
    ("apiserver.config.k8s.io/v1", "AuthorizationConfiguration", Severity.ERROR),
    ("apiserver.config.k8s.io/v1", "ResourceQuotaConfiguration", Severity.ERROR),
    ("pod-security.admission.config.k8s.io/v1", "PodSecurityConfiguration", Severity.ERROR),
    ("audit.k8s.io/v1", "Policy", Severity.WARNING),
    ("eventratelimit.admission.k8s.io/v1alpha1", "Configuration", Severity.WARNING),
    ("v1", "Config", Severity.WARNING),
])
def test_consumer_severity(api_version: str, kind: str, severity: Severity) -> None:
    entry = components.lookup("1.33", api_version, kind)
    assert entry is not None
    assert entry.unknown_severity is severity
    assert ("refuses" in entry.consumer) is (severity is Severity.ERROR)


def test_kinds_lists_what_lookup_finds() -> None:
    listed = components.kinds("1.33")
    assert (KUBELET, "KubeletConfiguration") in listed and (KUBEADM4, "UpgradeConfiguration") in listed
    assert all(components.lookup("1.33", a, k) is not None for a, k in listed)
    assert (KUBEADM4, "UpgradeConfiguration") not in components.kinds("1.27")


def _errors(minor: str, doc: dict[str, Any]) -> list[tuple[list[str | int], str]]:
    api_version = doc.get("apiVersion", KUBELET)  # rows that break apiVersion/kind test the consts
    entry = components.lookup(minor, api_version, "KubeletConfiguration" if api_version == KUBELET else doc["kind"])
    assert entry is not None
    v = jsonschema_rs.validator_for(entry.schema)
    return [(list(e.instance_path), type(e.kind).__name__) for e in v.iter_errors(doc)]


KC = {"apiVersion": KUBELET, "kind": "KubeletConfiguration"}


@pytest.mark.parametrize(("minor", "doc", "expected"), [
    # Go decoding rules, one per row: which values the consumer's decoder accepts.
    ("1.33", {**KC, "syncFrequency": "1m30s"}, []),
    ("1.33", {**KC, "syncFrequency": "90"}, [(["syncFrequency"], "Pattern")]),
    ("1.33", {**KC, "syncFrequency": None}, [(["syncFrequency"], "Type")]),  # non-pointer Duration
    ("1.33", {**KC, "shutdownGracePeriod": None}, [(["shutdownGracePeriod"], "Type")]),
    ("1.33", {**KC, "registryPullQPS": None}, []),  # *int32: nil
    ("1.33", {**KC, "registryPullQPS": "5"}, [(["registryPullQPS"], "Type")]),
    ("1.33", {**KC, "maxPods": 2**31}, [(["maxPods"], "Maximum")]),
    ("1.33", {**KC, "evictionHard": {"memory.available": "100Mi"}}, []),
    ("1.33", {**KC, "featureGates": {"Foo": "true"}}, [(["featureGates", "Foo"], "Type")]),
    ("1.33", {**KC, "metadata": {"name": "x"}}, [([], "AdditionalProperties")]),
    ("1.33", {**KC, "authentication": {"x509": {"clientCAFile": "/ca"}, "webhook": {"enabled": True}}}, []),
    ("1.33", {**KC, "reservedMemory": [{"numaNode": 0, "limits": {"memory": "1Gi"}}]}, []),
    ("1.33", {**KC, "logging": {"flushFrequency": 5000000000}}, []),
    ("1.33", {**KC, "logging": {"flushFrequency": "5s"}}, []),
    ("1.33", {**KC, "kind": "KubeletConfig"}, [(["kind"], "Constant")]),
    ("1.33", {"kind": "KubeletConfiguration"}, [([], "Required")]),
    ("1.33", {**KC, "registerWithTaints": [{"key": "k", "effect": "NoSchedule", "bogus": 1}]},
     [(["registerWithTaints", 0], "AdditionalProperties")]),
    ("1.33", {**KC, "tlsCertFile": "/x", "staticPodURLHeader": {"A": ["b"]}}, []),
    ("1.27", {**KC, "failCgroupV1": True}, [([], "AdditionalProperties")]),  # added after 1.27
    ("1.36", {**KC, "failCgroupV1": True}, []),
])
def test_decoding_rules(minor: str, doc: dict[str, Any], expected: list[tuple[list[str | int], str]]) -> None:
    assert sorted(_errors(minor, doc)) == sorted(expected)


UP = {"apiVersion": KUBEADM4, "kind": "UpgradeConfiguration"}


@pytest.mark.parametrize(("minor", "doc", "expected"), [
    # Kubespray master's kubeadm-config.v1beta4.yaml.j2 UpgradeConfiguration: the image pull fields
    # of apply/node and apply.skipPhases (json tag fixed upstream) are known from 1.31's final types.
    ("1.33", {**UP, "apply": {"kubernetesVersion": "v1.33.1", "allowExperimentalUpgrades": True,
                              "imagePullPolicy": "IfNotPresent", "imagePullSerial": True,
                              "skipPhases": ["addon/kube-proxy"]},
              "node": {"certificateRenewal": True, "imagePullPolicy": "IfNotPresent", "imagePullSerial": True}}, []),
    ("1.33", {**UP, "apply": {"SkipPhases": ["x"]}}, [(["apply"], "AdditionalProperties")]),
    ("1.33", {**UP, "plan": {"imagePullPolicy": "Always"}}, [(["plan"], "AdditionalProperties")]),
])
def test_kubeadm_upgrade_configuration(minor: str, doc: dict[str, Any],
                                       expected: list[tuple[list[str | int], str]]) -> None:
    assert sorted(_errors(minor, doc)) == sorted(expected)


BT = {"apiVersion": KUBEADM4, "kind": "InitConfiguration"}


@pytest.mark.parametrize(("doc", "expected"), [
    ({**BT, "bootstrapTokens": [{"token": "abcdef.0123456789abcdef", "ttl": "24h"}]}, []),
    ({**BT, "bootstrapTokens": [{"token": "abcdef0123456789abcdef"}]}, [(["bootstrapTokens", 0, "token"], "Pattern")]),
    ({**BT, "nodeRegistration": {"kubeletExtraArgs": [{"name": "v", "value": "2"}]}}, []),
    ({**BT, "nodeRegistration": {"kubeletExtraArgs": {"v": "2"}}},  # v1beta3's map form
     [(["nodeRegistration", "kubeletExtraArgs"], "Type")]),
    ({**BT, "timeouts": {"controlPlaneComponentHealthCheck": "4m"}}, []),
    ({**BT, "nodeRegistration": {"taints": [{"key": "a", "effect": "NoSchedule"}]}}, []),
])
def test_kubeadm_types(doc: dict[str, Any], expected: list[tuple[list[str | int], str]]) -> None:
    assert sorted(_errors("1.33", doc)) == sorted(expected)


@pytest.mark.parametrize(("data", "ok"), [("LS0tLS1CRUdJTg==", True), ("LS0t\nLS1C", True), ("not base64!", False)])
def test_kubeconfig_bytes_are_base64(data: str, ok: bool) -> None:
    doc = {"apiVersion": "v1", "kind": "Config",
           "clusters": [{"name": "c", "cluster": {"server": "https://x", "certificate-authority-data": data}}]}
    assert (_errors("1.33", doc) == []) is ok


def test_scheduler_plugin_args_are_typed_by_plugin_name() -> None:
    base = {"apiVersion": SCHED, "kind": "KubeSchedulerConfiguration"}
    ok = {**base, "profiles": [{"pluginConfig": [{"name": "NodeResourcesFit", "args": {
        "scoringStrategy": {"type": "MostAllocated"}}}]}]}
    bad = {**base, "profiles": [{"pluginConfig": [{"name": "NodeResourcesFit", "args": {"scoringStrategi": {}}}]}]}
    assert _errors("1.33", ok) == []
    assert _errors("1.33", bad) == [(["profiles", 0, "pluginConfig", 0, "args"], "AdditionalProperties")]


# The acceptance cases, through the validation core: path, line and severity.
ACCEPTANCE = [
    # `kubelet_cpu_manager_policy_options` given the whole block, rendered under the template's own
    # key: a map of strings gets an object. A type error is fatal even for the kubelet: its lenient
    # retry only forgives strict (unknown/duplicate field) errors (codec.go DecodeKubeletConfiguration).
    ("kubelet-cpumanager-too-deep", "1.33", """\
        apiVersion: kubelet.config.k8s.io/v1beta1
        kind: KubeletConfiguration
        cpuManagerPolicy: static
        cpuManagerPolicyOptions:
          cpuManagerPolicyOptions:
            full-pcpus-only: "true"
        """, Severity.ERROR, "type", "cpuManagerPolicyOptions.cpuManagerPolicyOptions", 5),
    # The same block one level too deep under a struct: an unknown field, which the kubelet drops.
    ("kubelet-block-under-struct", "1.33", """\
        apiVersion: kubelet.config.k8s.io/v1beta1
        kind: KubeletConfiguration
        authentication:
          anonymous:
            enabled: false
          cpuManagerPolicyOptions:
            full-pcpus-only: "true"
        """, Severity.WARNING, "unknown-field", "authentication.cpuManagerPolicyOptions", 6),
    ("v1beta4-timeoutForControlPlane", "1.33", """\
        apiVersion: kubeadm.k8s.io/v1beta4
        kind: ClusterConfiguration
        kubernetesVersion: v1.33.1
        apiServer:
          certSANs: [10.0.0.1]
          timeoutForControlPlane: 5m0s
        """, Severity.ERROR, "unknown-field", "apiServer.timeoutForControlPlane", 6),
    ("kube-proxy-unknown-field", "1.33", """\
        apiVersion: kubeproxy.config.k8s.io/v1alpha1
        kind: KubeProxyConfiguration
        mode: ipvs
        udpIdleTimeout: 250ms
        """, Severity.WARNING, "unknown-field", "udpIdleTimeout", 4),
    # Kubespray's kube-router kubeconfig.yml.j2 (master 46dbdd399) puts clusterCIDR at the top of a
    # kubeconfig: clientcmd.Load drops it without a word.
    ("kube-router-kubeconfig", "1.33", """\
        apiVersion: v1
        kind: Config
        clusterCIDR: 10.233.64.0/18
        clusters:
        - name: cluster
          cluster:
            certificate-authority: /etc/kubernetes/ssl/ca.crt
            server: https://127.0.0.1:6443
        """, Severity.WARNING, "unknown-field", "clusterCIDR", 3),
    ("scheduler-unknown-field", "1.33", """\
        apiVersion: kubescheduler.config.k8s.io/v1
        kind: KubeSchedulerConfiguration
        clientConnection:
          kubeconfig: /etc/kubernetes/scheduler.conf
          qps: 50
        leaderElection:
          leaderElect: true
          leaseDurations: 15s
        """, Severity.ERROR, "unknown-field", "leaderElection.leaseDurations", 8),
    # Duplicate keys (a user's extra-args dict repeating a templated key): same severity as unknown.
    ("kubelet-duplicate-key", "1.33", """\
        apiVersion: kubelet.config.k8s.io/v1beta1
        kind: KubeletConfiguration
        maxPods: 110
        maxPods: 250
        """, Severity.WARNING, "duplicate-key", "maxPods", 4),
    ("encryption-duplicate-key", "1.33", """\
        apiVersion: apiserver.config.k8s.io/v1
        kind: EncryptionConfiguration
        resources:
        - resources: [secrets]
          providers:
          - identity: {}
          resources: [configmaps]
        """, Severity.ERROR, "duplicate-key", "resources[0].resources", 7),
    ("audit-policy-metadata-is-fine", "1.33", """\
        apiVersion: audit.k8s.io/v1
        kind: Policy
        metadata:
          name: kubespray
        rules:
        - level: Metadata
          omitStages: [RequestReceived]
          levle: x
        """, Severity.WARNING, "unknown-field", "rules[0].levle", 8),
]


@pytest.mark.parametrize(("name", "minor", "text", "severity", "rule", "path", "line"), ACCEPTANCE,
                         ids=[a[0] for a in ACCEPTANCE])
def test_acceptance(name: str, minor: str, text: str, severity: Severity, rule: str, path: str,
                    line: int) -> None:
    store = SchemaStore.for_version(minor)
    findings = validate_text(textwrap.dedent(text), Source(f"{name}.yaml"), store=store)
    assert [(f.severity, f.rule, f.path, f.line) for f in findings] == [(severity, rule, path, line)]


def test_v1beta3_still_accepts_timeoutForControlPlane() -> None:
    doc = {"apiVersion": KUBEADM3, "kind": "ClusterConfiguration", "apiServer": {"timeoutForControlPlane": "4m"}}
    assert _errors("1.30", doc) == []


WEBHOOK = {"clusters": [{"name": "c", "cluster": {"server": "https://authn.example",
                                                   "insecure-skip-tls-verify": False}}],
           "users": [{"name": "u"}], "current-context": "w",
           "contexts": [{"name": "w", "context": {"cluster": "c", "user": "u"}}]}


@pytest.mark.parametrize(("template", "doc", "expected"), [
    ("roles/kubernetes/control-plane/templates/webhook-token-auth-config.yaml.j2", WEBHOOK, []),
    ("webhook-authorization-config.yaml.j2", {**WEBHOOK, "apiVersion": "v1", "kind": "Config"}, []),
    ("webhook-authorization-config.yaml.j2", {**WEBHOOK, "kind": "Pod"}, [(["kind"], "Constant")]),
    ("webhook-token-auth-config.yaml.j2", {**WEBHOOK, "user": []}, [([], "AdditionalProperties")]),
])
def test_untyped_templates(template: str, doc: dict[str, Any], expected: list[tuple[list[str | int], str]]) -> None:
    found = components.lookup_untyped("1.33", template)
    assert found is not None and found[:2] == ("v1", "Config")
    assert found[2].unknown_severity is Severity.WARNING and found[2].source.endswith("kind implied by the template")
    v = jsonschema_rs.validator_for(found[2].schema)
    assert sorted((list(e.instance_path), type(e.kind).__name__) for e in v.iter_errors(doc)) == expected


def test_untyped_unknown_template() -> None:
    assert components.lookup_untyped("1.33", "roles/x/templates/podnodeselector.yaml.j2") is None


JWT = [{"issuer": {"url": "https://oidc.example", "certificateAuthority": "/etc/ssl/oidc.pem", "audiences": ["k8s"]},
        "claimMappings": {"username": {"claim": "sub", "prefix": ""}, "groups": {"claim": "groups", "prefix": ""}}}]
WEBHOOK_AUTHZ = {"type": "Webhook", "name": "webhook", "webhook": {
    "connectionInfo": {"type": "KubeConfigFile", "kubeConfigFile": "/etc/kubernetes/webhook-authorization-config.yaml"},
    "subjectAccessReviewVersion": "v1beta1", "matchConditionSubjectAccessReviewVersion": "v1", "timeout": "3s",
    "failurePolicy": "NoOpinion", "matchConditions": [{"expression": "has(request.resourceAttributes)"}]}}


@pytest.mark.parametrize(("minor", "doc", "expected"), [
    # control-plane/tasks/main.yml builds these with to_nice_yaml; the version follows kube_version
    ("1.33", {"apiVersion": "apiserver.config.k8s.io/v1beta1", "kind": "AuthenticationConfiguration", "jwt": JWT,
              "anonymous": {"enabled": False, "conditions": []}}, []),
    ("1.34", {"apiVersion": "apiserver.config.k8s.io/v1", "kind": "AuthenticationConfiguration", "jwt": JWT,
              "anonymous": {"enabled": True, "conditions": [{"path": "/livez"}]}}, []),
    ("1.34", {"apiVersion": "apiserver.config.k8s.io/v1", "kind": "AuthenticationConfiguration",
              "jwt": [{**JWT[0], "claimMappings": {"username": {"claim": "sub", "prefx": ""}}}]},
     [(["jwt", 0, "claimMappings", "username"], "AdditionalProperties")]),
    ("1.33", {"apiVersion": "apiserver.config.k8s.io/v1", "kind": "AuthorizationConfiguration",
              "authorizers": [{"type": "Node", "name": "node"}, {"type": "RBAC", "name": "rbac"}, WEBHOOK_AUTHZ]}, []),
    ("1.33", {"apiVersion": "apiserver.config.k8s.io/v1", "kind": "AuthorizationConfiguration",
              "authorizers": [{"type": "Node", "name": "node", "webhook": {"timout": "3s"}}]},
     [(["authorizers", 0, "webhook"], "AdditionalProperties")]),
    ("1.33", {"apiVersion": "apiserver.config.k8s.io/v1", "kind": "AuthorizationConfiguration",
              "authorizers": [{**WEBHOOK_AUTHZ, "webhook": {**WEBHOOK_AUTHZ["webhook"], "timeout": "3"}}]},
     [(["authorizers", 0, "webhook", "timeout"], "Pattern")]),
])
def test_apiserver_structured_configs(minor: str, doc: dict[str, Any],
                                      expected: list[tuple[list[str | int], str]]) -> None:
    assert sorted(_errors(minor, doc)) == sorted(expected)


def test_manifest_lists_every_schema_file_with_its_sha256_and_sources() -> None:
    import hashlib

    root = pinned_schemas()
    listed = components._manifest()
    files = {str(p.relative_to(root)) for p in root.rglob("*.json") if p.name not in ("MANIFEST.json", "aliases.json")}
    assert files == set(listed)
    for rel, meta in listed.items():
        assert hashlib.sha256((root / rel).read_bytes()).hexdigest() == meta["sha256"], rel
        assert meta["sources"] and all(s["repository"] and s["path"] and s["sha256"] for s in meta["sources"]), rel
        assert meta["license"] == "Apache-2.0"
