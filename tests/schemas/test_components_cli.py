"""`kvalidate schemas` and `kvalidate schemas show`: exit codes and whole lines."""

from __future__ import annotations

import json

import pytest

from kvalidate.cli import main


@pytest.mark.parametrize(("argv", "line"), [
    (["schemas", "--kube-version", "1.33"], "  component configs: Kubernetes 1.27 to 1.36 (10)"),
    (["schemas", "--kube-version", "1.33"],
     "    kubeproxy.config.k8s.io/v1alpha1 KubeProxyConfiguration: components v1.33 (component-base v0.33.0, "
     "kube-proxy v0.33.0); unknown fields: warning (kube-proxy logs the strict decoding error, "
     "decodes again leniently and drops the field)"),
    (["schemas", "--calico-version", "3.31.6"],
     "    crd.projectcalico.org/v1 IPAMConfig: crds calico 3.31.7 (same CRD file as 3.31.6)"),
    (["schemas", "--kube-version", "1.27"], "Kubernetes 1.27"),
    (["schemas"], "  kubeproxy.config.k8s.io *: warning; kubernetes cmd/kube-proxy/app/server.go loadConfig "
     "('Using lenient decoding as strict decoding failed')"),
])
def test_list(argv: list[str], line: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 0
    assert line in capsys.readouterr().out.splitlines()


def test_list_has_no_v1beta4_before_kubeadm_131(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schemas", "--kube-version", "1.30"]) == 0
    out = capsys.readouterr().out
    assert "kubeadm.k8s.io/v1beta3 ClusterConfiguration" in out and "kubeadm.k8s.io/v1beta4" not in out


@pytest.mark.parametrize(("argv", "header", "has"), [
    (["schemas", "show", "kubeadm.k8s.io/v1beta4", "ClusterConfiguration", "--kube-version", "1.33"],
     "# kubeadm.k8s.io/v1beta4 ClusterConfiguration: components v1.33 (tengqm/kubeconfig 34e545f62a22); unknown or "
     "duplicate fields: error (kubeadm: `kubeadm config validate` refuses it; init/join/upgrade only warn and "
     "drop the field)", "encryptionAlgorithm"),
    (["schemas", "show", "projectcalico.org/v3", "BGPPeer", "--calico-version", "3.30.7"],
     "# projectcalico.org/v3 BGPPeer: crds calico 3.30.7; unknown or duplicate fields: error (calicoctl "
     "(yaml.UnmarshalStrict) refuses the resource on an unknown or duplicate field)", "peerIP"),
    (["schemas", "show", "apps/v1", "Deployment", "--kube-version", "1.33"],
     "# apps/v1 Deployment: kubernetes-validate 1.37.0 v1.33.0-local-strict; unknown or duplicate fields: "
     "error (kube-apiserver (strict field validation, as kubectl --validate=strict))", "replicas"),
])
def test_show(argv: list[str], header: str, has: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 0
    out, err = capsys.readouterr()
    assert err.splitlines() == [header]
    schema = json.loads(out)
    assert has in json.dumps(schema) and "description" not in schema


def test_show_unknown_kind_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schemas", "show", "example.com/v1", "Nope", "--kube-version", "1.33"]) == 2
    assert capsys.readouterr().err == ("kvalidate: no schema for example.com/v1 Nope at Kubernetes 1.33 "
                                       "(see `kvalidate schemas`)\n")


def test_show_with_crds(capsys: pytest.CaptureFixture[str]) -> None:
    from pathlib import Path

    fixture = Path(__file__).parent / "fixtures" / "components" / "ipaddresspool-crd.yaml"
    assert main(["schemas", "show", "metallb.io/v1beta1", "IPAddressPool", "--crds", str(fixture)]) == 0
    out, err = capsys.readouterr()
    assert err.startswith(f"# metallb.io/v1beta1 IPAddressPool: crd:{fixture}; unknown or duplicate fields: error")
    assert json.loads(out)["properties"]["spec"]["additionalProperties"] is False
