"""Pinned Calico (and Cilium) schemas: choice by version, calicoctl v3 objects, Kubespray's shapes."""

from __future__ import annotations

import json
from typing import Any

import jsonschema_rs
import pytest

from kvalidate import components, crds
from kvalidate.model import Severity
from kvalidate.pinned import pinned_schemas

V1, V3 = "crd.projectcalico.org/v1", "projectcalico.org/v3"


@pytest.mark.parametrize(("versions", "source"), [
    ({"calico_version": "3.31.7"}, "crds calico 3.31.7"),
    ({"calico_version": "v3.31.6"}, "crds calico 3.31.7 (same CRD file as 3.31.6)"),  # identical file
    ({"calico_version": "3.29.4"}, "crds calico 3.29.7 (same CRD file as 3.29.4)"),
    ({"calico_version": "3.30.0"}, "crds calico 3.30.0"),
    ({"calico_version": "3.32.1"}, "crds calico 3.31.7 (calico_version 3.32.1 not pinned, nearest used)"),
    ({"calico_version": "3.28.0"}, "crds calico 3.29.0 (calico_version 3.28.0 not pinned, nearest used)"),
    ({}, "crds calico 3.31.7 (calico_version not set, newest pinned)"),
])
def test_version_choice(versions: dict[str, str], source: str) -> None:
    entry = crds.pinned_crd_lookup(V1, "IPAMConfig", versions)
    assert entry is not None and entry.source == source


def test_pins_cover_every_version_kubespray_lists() -> None:
    aliases = json.loads((pinned_schemas() / "crds" / "calico" / "aliases.json").read_text())
    assert len(aliases) == 24 and set(aliases.values()) == set(crds.pinned_versions("calico"))


def test_manifest_records_kubespray_checksum() -> None:
    entry = components._manifest()["crds/calico/3.31.7/crd.projectcalico.org_v1_IPAMConfig.json"]
    src = entry["sources"][0]
    assert src["sha256"].startswith("1d6d5e523f92") and src["tag"] == "v3.31.7"
    assert "calico_crds_checksums" in src["verified_by"]


def test_unknown_kinds_are_not_pinned() -> None:
    assert crds.pinned_crd_lookup("metallb.io/v1beta1", "IPAddressPool", {}) is None
    assert crds.pinned_crd_lookup("apps/v1", "Deployment", {"calico_version": "3.31.7"}) is None


def _errors(api_version: str, doc: dict[str, Any]) -> list[tuple[list[str | int], str]]:
    entry = crds.pinned_crd_lookup(api_version, doc["kind"], {"calico_version": "3.31.7"})
    assert entry is not None
    v = jsonschema_rs.validator_for(entry.schema)
    return sorted((list(e.instance_path), type(e.kind).__name__) for e in v.iter_errors(doc))


def _obj(api_version: str, kind: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": api_version, "kind": kind, "metadata": {"name": "default"}, "spec": spec}


IPAM = {"autoAllocateBlocks": True, "strictAffinity": False, "maxBlocksPerHost": 0}


@pytest.mark.parametrize(("api_version", "doc", "expected"), [
    # Kubespray's calico-ipamconfig.yml.j2 shape, then its failure modes
    (V1, _obj(V1, "IPAMConfig", IPAM), []),
    (V1, _obj(V1, "IPAMConfig", {**IPAM, "maxBlockPerHost": 1}), [(["spec"], "AdditionalProperties")]),
    (V1, _obj(V1, "IPAMConfig", {**IPAM, "strictAffinity": None}), [(["spec", "strictAffinity"], "Type")]),
    (V1, _obj(V1, "IPAMConfig", {**IPAM, "maxBlocksPerHost": None}), []),  # optional: pruned
    (V1, _obj(V1, "IPAMConfig", {**IPAM, "strictAffinity": "True"}), [(["spec", "strictAffinity"], "Type")]),
    # calicoctl objects built as JSON in Kubespray's tasks (install.yml, peer_with_router.yml)
    (V3, _obj(V3, "BGPConfiguration", {"listenPort": 179, "logSeverityScreen": "Info", "asNumber": 64512,
                                       "nodeToNodeMeshEnabled": True, "serviceExternalIPs": [],
                                       "serviceClusterIPs": [{"cidr": "10.233.0.0/18"}]}), []),
    (V3, _obj(V3, "BGPPeer", {"peerIP": "10.0.0.1", "asNumber": "64513", "node": "n1"}), []),  # string AS
    (V3, _obj(V3, "BGPPeer", {"peerIP": "10.0.0.1", "asNumber": "AS64513"}), [(["spec", "asNumber"], "AnyOf")]),
    (V3, _obj(V3, "Node", {"bgp": {"asNumber": "64512"},
                           "orchRefs": [{"nodeName": "n1", "orchestrator": "k8s"}]}), []),
    (V3, _obj(V3, "Node", {"bgp": {"asnumber": "64512"}}), [(["spec", "bgp"], "AdditionalProperties")]),
    (V3, _obj(V3, "IPPool", {"cidr": "10.233.64.0/18", "ipipMode": "Never", "vxlanMode": "Always",
                             "natOutgoing": True, "blockSize": 26}), []),
    (V3, _obj(V3, "IPPool", {"cidr": "10.233.64.0/18", "blocksize": 26}), [(["spec"], "AdditionalProperties")]),
    (V3, _obj(V3, "FelixConfiguration", {"logSeverityScreen": "Info", "reportingInterval": "0s",
                                         "bpfEnabled": False}), []),
])
def test_calico_shapes(api_version: str, doc: dict[str, Any], expected: list[tuple[list[str | int], str]]) -> None:
    assert _errors(api_version, doc) == expected


def test_v3_objects_name_calicoctl_as_consumer() -> None:
    v3 = crds.pinned_crd_lookup(V3, "BGPPeer", {})
    v1 = crds.pinned_crd_lookup(V1, "BGPPeer", {})
    assert v3 is not None and v1 is not None
    assert "calicoctl" in v3.consumer and "calicoctl" not in v1.consumer
    assert v3.unknown_severity is Severity.ERROR is v1.unknown_severity


def test_components_delegates_to_pinned_crds() -> None:
    assert components.pinned_crd_lookup(V1, "IPPool", {"calico_version": "3.30.7"}) is not None


@pytest.mark.parametrize(("api_version", "kind", "cilium_version", "source"), [
    ("cilium.io/v2", "CiliumBGPClusterConfig", "1.19.4", "crds cilium 1.19.4"),
    ("cilium.io/v2", "CiliumBGPClusterConfig", "1.20.1",
     "crds cilium 1.19.4 (cilium_version 1.20.1 not pinned, nearest used)"),
    ("cilium.io/v2alpha1", "CiliumBGPPeeringPolicy", "1.17.6", "crds cilium 1.17.6"),
    # removed upstream after 1.17: served by no newer pin, so the nearest pin that has it
    ("cilium.io/v2alpha1", "CiliumBGPPeeringPolicy", "1.19.4",
     "crds cilium 1.17.6 (CiliumBGPPeeringPolicy cilium.io/v2alpha1 not in the 1.19.4 pin, "
     "nearest pin that has it)"),
    # v2 appeared in 1.18: Kubespray 2.29/2.30 (cilium 1.18.x) get the nearest pin that has it
    ("cilium.io/v2", "CiliumLoadBalancerIPPool", "1.18.6",
     "crds cilium 1.19.4 (CiliumLoadBalancerIPPool cilium.io/v2 not in the 1.17.6 pin, nearest pin that has it)"),
])
def test_cilium_choice(api_version: str, kind: str, cilium_version: str, source: str) -> None:
    entry = crds.pinned_crd_lookup(api_version, kind, {"cilium_version": cilium_version})
    assert entry is not None and entry.source == source


@pytest.mark.parametrize(("spec", "expected"), [
    ({"blocks": [{"cidr": "10.0.10.0/24"}]}, []),
    ({"blocks": [{"start": "10.0.10.1", "stop": "10.0.10.9"}], "disabled": False}, []),
    ({"blocks": [{"cidr": "10.0.10.0/24"}], "serviceSelector": {"matchLabels": {"a": "b"}}}, []),
    ({"blocks": [{"cidrr": "10.0.10.0/24"}]}, [(["spec", "blocks", 0], "AdditionalProperties")]),
])
def test_cilium_lb_pool(spec: dict[str, Any], expected: list[tuple[list[str | int], str]]) -> None:
    entry = crds.pinned_crd_lookup("cilium.io/v2", "CiliumLoadBalancerIPPool", {"cilium_version": "1.19.4"})
    assert entry is not None
    doc = {"apiVersion": "cilium.io/v2", "kind": "CiliumLoadBalancerIPPool", "metadata": {"name": "p"}, "spec": spec}
    v = jsonschema_rs.validator_for(entry.schema)
    assert sorted((list(e.instance_path), type(e.kind).__name__) for e in v.iter_errors(doc)) == expected
