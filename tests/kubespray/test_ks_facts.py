from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from kvalidate.kubespray.facts import (
    deep_merge,
    fact_spec,
    host_facts,
    inventory_facts,
    ipv6_overlay,
    load_overlay,
    os_names,
)
from kvalidate.model import SetupError


@pytest.mark.parametrize(("index", "ip", "mac"), [
    (0, "10.0.0.11", "52:54:00:00:00:11"),
    (1, "10.0.0.12", "52:54:00:00:00:12"),
    (6, "10.0.0.17", "52:54:00:00:00:17"),
])
def test_network_identity(index: int, ip: str, mac: str) -> None:
    f = host_facts("instance-x", index)
    assert f["ansible_default_ipv4"]["address"] == ip
    assert f["ansible_default_ipv4"]["gateway"] == "10.0.0.1"
    assert f["ansible_default_ipv4"]["macaddress"] == mac
    assert f["ansible_eth0"]["ipv4"]["address"] == ip
    assert f["ansible_all_ipv4_addresses"] == [ip]
    assert f["ansible_default_ipv6"] == {} and f["ansible_all_ipv6_addresses"] == []


@pytest.mark.parametrize(("host", "hostname", "fqdn"), [
    ("node1", "node1", "node1"),
    ("cp.example.org", "cp", "cp.example.org"),
])
def test_names(host: str, hostname: str, fqdn: str) -> None:
    f = host_facts(host, 0)
    assert (f["ansible_hostname"], f["ansible_nodename"], f["ansible_fqdn"]) == (hostname, host, fqdn)


@pytest.mark.parametrize(("os_name", "key", "value"), [
    (None, "ansible_distribution", "Ubuntu"),
    ("ubuntu-2404", "ansible_distribution_release", "noble"),
    ("debian-12", "ansible_distribution_version", "12.8"),
    ("almalinux-9", "ansible_os_family", "RedHat"),
    ("almalinux-9", "ansible_selinux", {"status": "enabled", "mode": "enforcing",
                                        "config_mode": "enforcing", "type": "targeted", "policyvers": 33}),
    ("ubuntu-2204", "ansible_python_version", "3.10.12"),
    ("flatcar-4081", "ansible_os_family", "Flatcar"),
    # presets for older branches' CI images (data/facts-extra.yml)
    ("ubuntu-2004", "ansible_distribution_release", "focal"),
    ("centos-7", "ansible_pkg_mgr", "yum"),
    ("opensuse-leap-15", "ansible_os_family", "Suse"),
    ("almalinux-8", "ansible_distribution_major_version", "8"),
])
def test_os_presets(os_name: str | None, key: str, value: Any) -> None:
    f = host_facts("node1", 0, os_name)
    assert f[key] == value
    assert f["ansible_architecture"] == "x86_64" and f["ansible_memtotal_mb"] == 3931


def test_os_names_are_ci_cloud_images() -> None:
    assert {"ubuntu-2404", "debian-12", "almalinux-9", "rockylinux-10-extra", "fedora-43", "ubuntu-2004",
            "almalinux-8", "rockylinux-8", "centos-7", "debian-10", "fedora-37", "fedora-38", "fedora-39",
            "fedora-40", "opensuse-leap-15"} <= set(os_names())


def test_unknown_os() -> None:
    with pytest.raises(SetupError, match="unknown OS 'ubuntu-1804'"):
        host_facts("node1", 0, "ubuntu-1804")


def test_inventory_order_gives_addresses() -> None:
    facts = inventory_facts(["node1", "node2", "node3"], "debian-12")
    assert [f["ansible_default_ipv4"]["address"] for f in facts.values()] == [
        "10.0.0.11", "10.0.0.12", "10.0.0.13"]
    assert facts["node2"]["ansible_distribution"] == "Debian"


def test_ipv6_overlay() -> None:
    f = inventory_facts(["a", "b"], overlays=[ipv6_overlay()])["b"]
    assert f["ansible_default_ipv6"]["address"] == "fd00:10::12"
    assert f["ansible_all_ipv6_addresses"] == ["fd00:10::12"]
    assert f["ansible_eth0"]["ipv6"][0]["address"] == "fd00:10::12"


def test_overlay_file_per_host_and_os(tmp_path: Path) -> None:
    p = tmp_path / "facts.yml"
    p.write_text("os: almalinux-9\ncommon: {ansible_memtotal_mb: 8000}\n"
                 "hosts:\n  node2:\n    ansible_default_ipv4: {address: 192.168.1.5}\n")
    facts = inventory_facts(["node1", "node2"], overlays=[load_overlay(p)])
    assert facts["node1"]["ansible_distribution"] == "AlmaLinux"
    assert facts["node1"]["ansible_memtotal_mb"] == 8000
    assert facts["node2"]["ansible_default_ipv4"]["address"] == "192.168.1.5"
    assert facts["node2"]["ansible_default_ipv4"]["gateway"] == "10.0.0.1"  # deep-merged


@pytest.mark.parametrize("text", ["- a\n", "{"])
def test_bad_overlay(tmp_path: Path, text: str) -> None:
    p = tmp_path / "facts.yml"
    p.write_text(text)
    with pytest.raises(SetupError):
        load_overlay(p)


def test_spec_is_a_copy() -> None:
    fact_spec()["common"]["ansible_memtotal_mb"] = 1
    assert host_facts("n", 0)["ansible_memtotal_mb"] == 3931


@pytest.mark.parametrize(("a", "b", "expected"), [
    ({"x": {"y": 1, "z": 2}}, {"x": {"y": 3}}, {"x": {"y": 3, "z": 2}}),
    ({"x": [1, 2]}, {"x": [3]}, {"x": [3]}),
    ({"x": {"y": 1}}, {"x": 5}, {"x": 5}),
    ({"x": 1}, None, {"x": 1}),
])
def test_deep_merge(a: dict[str, Any], b: dict[str, Any] | None, expected: dict[str, Any]) -> None:
    assert deep_merge(a, b) == expected


def test_packaged_data_reads_the_same_with_libyaml() -> None:
    """facts*.yml and sim-rules*.yml are read with CSafeLoader (start-up time): the same data, of
    the same types, as PyYAML's pure-Python safe_load."""
    import yaml

    data = Path(__file__).resolve().parents[2] / "kvalidate" / "kubespray" / "data"
    files = sorted(data.glob("*.yml"))
    assert {"facts.yml", "facts-extra.yml", "sim-rules.yml", "sim-rules-extra.yml"} <= {f.name for f in files}
    for f in files:
        text = f.read_text(encoding="utf-8")
        fast, slow = yaml.load(text, Loader=yaml.CSafeLoader), yaml.safe_load(text)
        assert fast == slow and repr(fast) == repr(slow), f.name
