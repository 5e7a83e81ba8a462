"""schemas/kinds.py: an unknown kind of a known group is an error naming the close matches; a group
nobody knows stays `no-schema`."""

from __future__ import annotations

import pytest

from kvalidate.model import Severity, Source
from kvalidate.schemas.crd_convert import schemas_in
from kvalidate.schemas.store import SchemaStore
from kvalidate.validation.validate import validate_text

WIDGET_CRD = {
    "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
    "metadata": {"name": "widgets.example.com"},
    "spec": {"group": "example.com", "scope": "Namespaced",
             "names": {"kind": "Widget", "plural": "widgets", "singular": "widget", "listKind": "WidgetList"},
             "versions": [{"name": "v1", "served": True, "storage": True,
                           "schema": {"openAPIV3Schema": {"type": "object"}}}]},
}


def findings(text: str, store: SchemaStore) -> list[tuple[str, Severity, int, str, str]]:
    return [(f.rule, f.severity, f.line, f.path, f.message)
            for f in validate_text(text, Source("t.yaml"), store=store)]


def doc(api_version: str, kind: str) -> str:
    return f"apiVersion: {api_version}\nkind: {kind}\nmetadata:\n  name: x\n"


CASES = [
    # kubectl-validate testcases/manifests/error_invalid_kind.yaml: its Status names exactly this
    ("v1", "configmap", "kind configmap not found in v1 groupversion: did you mean ConfigMap?"),
    ("apps/v1", "Deploymnet", "kind Deploymnet not found in apps/v1 groupversion: did you mean Deployment?"),
    ("rbac.authorization.k8s.io/v1", "clusterrole",
     "kind clusterrole not found in rbac.authorization.k8s.io/v1 groupversion: did you mean ClusterRole?"),
    ("apps/v1", "Frobnicator", "kind Frobnicator not found in apps/v1 groupversion"),
    ("batch/v1beta1", "CronJob", "kind CronJob not found in batch/v1beta1 groupversion: Kubernetes 1.30 does "
     "not serve batch/v1beta1; CronJob is served as batch/v1"),
    ("extensions/v1beta1", "Ingress", "kind Ingress not found in extensions/v1beta1 groupversion: Kubernetes "
     "1.30 does not serve extensions/v1beta1; Ingress is served as networking.k8s.io/v1"),
    ("policy/v1beta1", "PodSecurityPolicy", "kind PodSecurityPolicy not found in policy/v1beta1 groupversion: "
     "Kubernetes 1.30 does not serve policy/v1beta1"),
    ("v2", "ConfigMap", "kind ConfigMap not found in v2 groupversion: Kubernetes 1.30 does not serve v2; "
     "ConfigMap is served as v1"),
    # groups known through the pinned Calico and Cilium CRDs
    ("crd.projectcalico.org/v1", "ippool", "kind ippool not found in crd.projectcalico.org/v1 groupversion: "
     "did you mean IPPool?"),
    ("crd.projectcalico.org/v2", "IPPool", "kind IPPool not found in crd.projectcalico.org/v2 groupversion: "
     "IPPool is served as crd.projectcalico.org/v1"),
    ("cilium.io/v2", "CiliumLoadBalancerIpPool", "kind CiliumLoadBalancerIpPool not found in cilium.io/v2 "
     "groupversion: did you mean CiliumLoadBalancerIPPool?"),
]


@pytest.mark.parametrize(("api_version", "kind", "message"), CASES, ids=[f"{c[0]} {c[1]}" for c in CASES])
def test_unknown_kind_of_a_known_group_is_an_error_at_the_kind_line(api_version: str, kind: str,
                                                                    message: str) -> None:
    store = SchemaStore.for_version("1.30")
    assert findings(doc(api_version, kind), store) == [("unknown-kind", Severity.ERROR, 2, "", message)]


def test_a_group_nobody_knows_stays_no_schema() -> None:
    store = SchemaStore.for_version("1.30")
    assert [f[:2] for f in findings(doc("example.com/v1", "Widget"), store)] == [("no-schema", Severity.WARNING)]


def test_a_group_known_through_a_crd_of_the_run() -> None:
    store = SchemaStore.for_version("1.30")
    store.add_crd_schemas(schemas_in([WIDGET_CRD]), "crd:test")
    assert findings(doc("example.com/v1", "Widget"), store) == []
    assert findings(doc("example.com/v1", "widget"), store) == [
        ("unknown-kind", Severity.ERROR, 2, "", "kind widget not found in example.com/v1 groupversion: did you "
         "mean Widget?")]
    assert findings(doc("example.com/v2", "Widget"), store) == [
        ("unknown-kind", Severity.ERROR, 2, "", "kind Widget not found in example.com/v2 groupversion: Widget is "
         "served as example.com/v1")]
    assert [f[0] for f in findings(doc("other.example.com/v1", "Widget"), store)] == ["no-schema"]
    # a kind of the group whose CRD kvalidate has not seen: the cluster may well have it
    assert [f[0] for f in findings(doc("example.com/v1", "Gadget"), store)] == ["no-schema"]
    assert [f[0] for f in findings(doc("cilium.io/v2", "CiliumNetworkPolicy"), store)] == ["no-schema"]


def test_component_configs_still_validate_and_unpinned_versions_stay_no_schema() -> None:
    store = SchemaStore.for_version("1.33")
    kubeadm = "apiVersion: kubeadm.k8s.io/v1beta4\nkind: ClusterConfiguration\n"
    assert findings(kubeadm, store) == []
    kubeconfig = "apiVersion: v1\nkind: Config\nclusters: []\n"
    assert findings(kubeconfig, store) == []
    old = "apiVersion: kubeadm.k8s.io/v1beta2\nkind: ClusterConfiguration\n"
    assert [f[0] for f in findings(old, store)] == ["no-schema"]


def test_schemas_of_another_minor_only_refuse_a_kind_wrong_in_case() -> None:
    """A cell rendering 1.22 is validated with 1.25's schemas: policy/v1beta1 existed in 1.22."""
    store = SchemaStore.for_version("1.25", exact=False)
    assert [f[0] for f in findings(doc("policy/v1beta1", "PodSecurityPolicy"), store)] == ["no-schema"]
    assert [f[0] for f in findings(doc("v1", "Policy"), store)] == ["no-schema"]
    assert [f[0] for f in findings(doc("v1", "configmap"), store)] == ["unknown-kind"]
    exact = SchemaStore.for_version("1.25")
    assert [f[0] for f in findings(doc("policy/v1beta1", "PodSecurityPolicy"), exact)] == ["unknown-kind"]


def test_list_items_are_judged_one_by_one() -> None:
    store = SchemaStore.for_version("1.30")
    text = "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: configmap\n  metadata: {name: a}\n"
    assert findings(text, store) == [
        ("unknown-kind", Severity.ERROR, 5, "items[0]", "kind configmap not found in v1 groupversion: did you mean "
         "ConfigMap?")]


def test_the_api_schemas_name_the_installed_kubernetes_validate() -> None:
    """Findings name the version of the schema data: read from the package's version.py as text
    (start-up time), it is the distribution's own version."""
    from importlib.metadata import version

    from kvalidate.schemas.core import CoreSchemas

    assert CoreSchemas("1.33").source == f"kubernetes-validate {version('kubernetes-validate')} v1.33.0-local-strict"


def test_crd_schemas_take_object_meta_from_a_minor_already_read_only_when_it_is_the_newest_ones() -> None:
    """`core.SAME_OBJECT_META`: the minors whose patched ObjectMeta definitions are the newest
    minor's, exactly (checked here against the data, for every bundled minor, both ways); a CRD's
    schema then gets the same definitions without the newest minor's file being read."""
    from kvalidate.schemas import core, crd_convert

    def meta(minor: str) -> dict[str, object]:
        entry = core.CoreSchemas(minor).lookup("v1", "ConfigMap")
        assert entry is not None
        return {k: v for k, v in entry.schema["$defs"].items() if k.startswith("io.k8s.apimachinery.pkg.apis.meta.v1.")}

    newest = meta(core.DEFAULT_MINOR)
    assert "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta" in newest
    assert [m for m in core.MINORS if meta(m) == newest] == list(core.SAME_OBJECT_META)

    crd_convert._object_meta_defs.cache_clear()
    core._READ.clear()
    kept = core.CoreSchemas("1.31")
    kept.lookup("v1", "Pod")  # a run validating as 1.31 has read 1.31's definitions
    reads: list[str] = []
    real = core.CoreSchemas._raw.func  # type: ignore[attr-defined]

    def counted(self: core.CoreSchemas) -> object:
        reads.append(self.minor)
        return real(self)

    try:
        core.CoreSchemas._raw.func = counted  # type: ignore[attr-defined]
        assert crd_convert._object_meta_defs() == newest
        assert reads == []  # 1.31's, not the newest minor's file read again
        crd_convert._object_meta_defs.cache_clear()
        core._READ.clear()
        assert crd_convert._object_meta_defs() == newest and reads == [core.DEFAULT_MINOR]
    finally:
        core.CoreSchemas._raw.func = real  # type: ignore[attr-defined]
        crd_convert._object_meta_defs.cache_clear()
    del kept
