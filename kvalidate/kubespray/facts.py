"""Simulated `setup` facts per host, exactly as the oracle's `oracle_facts` action returns them.

Per host: `common` <- `os_presets[os]` <- automatic network identity <- `hosts[<name>]` (each
deep-merged). The N-th host of `groups['all']` (1-based) gets `10.0.0.(10+N)` on `eth0`, a
`52:54:00:00:00:xx` MAC and hostname = its inventory name. The preset data is
`data/facts.yml`, the reference renderer's facts (docs/fidelity.md) (plus `data/facts-extra.yml`: presets
for the CI images of older branches, ubuntu-2004, almalinux-8, centos-7, ...); `--facts FILE` overlays are
deep-merged on top of it (`data/facts-ipv6.yml` gives every host a default IPv6 route).

The result is the `ansible_facts` dict of a `setup` result: keys keep their `ansible_` prefix
(plus `module_setup`, `gather_subset`). The engine stores them with fact precedence and exposes
them both as `ansible_facts['x']` and, with INJECT_FACTS_AS_VARS, as `ansible_x`.
"""

from __future__ import annotations

import copy
import ipaddress
from collections.abc import Mapping, Sequence
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from kvalidate.ansible.loader import plain_yaml
from kvalidate.model import SetupError

DEFAULT_OS = "ubuntu-2404"


def deep_merge(a: Mapping[str, Any], b: Mapping[str, Any] | None) -> dict[str, Any]:
    """`b` over `a`: nested mappings merge, anything else replaces (the oracle's deep_merge)."""
    out = copy.deepcopy(dict(a))
    for k, v in (b or {}).items():
        if isinstance(v, Mapping) and isinstance(out.get(k), Mapping):
            out[k] = deep_merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


def _data_text(name: str) -> str:
    return resources.files("kvalidate.kubespray").joinpath("data", name).read_text(encoding="utf-8")


@cache
def _base_spec() -> dict[str, Any]:
    """facts.yml (the oracle's), over facts-extra.yml (presets for older branches' CI images)."""
    # libyaml (CSafeLoader): the same data as safe_load, ~10x faster (tests/kubespray compares them),
    # kept across runs as the checkout's YAML is (`plain_yaml`: ~3 ms of a cold start)
    spec = plain_yaml(_data_text("facts.yml"))
    extra = plain_yaml(_data_text("facts-extra.yml"))
    if not isinstance(spec, dict) or not isinstance(extra, dict):  # pragma: no cover - packaged data
        raise SetupError("kvalidate/kubespray/data/facts*.yml are not mappings")
    return deep_merge(extra, spec)


def ipv6_overlay() -> dict[str, Any]:
    """The oracle's `facts-ipv6.yml` overlay (default IPv6 route, fd00:10::/64)."""
    data = yaml.safe_load(_data_text("facts-ipv6.yml"))
    return data if isinstance(data, dict) else {}


def load_overlay(path: Path) -> dict[str, Any]:
    """A `--facts FILE` overlay (same shape as facts.yml: `os`, `auto`, `common`, `hosts`, ...)."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as e:
        raise SetupError(f"cannot read facts file {path}: {e}") from e
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise SetupError(f"facts file {path} is not a mapping")
    return data


def fact_spec(overlays: Sequence[Mapping[str, Any]] = ()) -> dict[str, Any]:
    """facts.yml with `overlays` deep-merged in order."""
    spec = _base_spec()
    for o in overlays:
        spec = deep_merge(spec, o)
    return copy.deepcopy(spec)


def os_names(spec: Mapping[str, Any] | None = None) -> tuple[str, ...]:
    """The OS presets, named like the CI `cloud_image` values (ubuntu-2404, almalinux-9, ...)."""
    return tuple(sorted((spec or _base_spec()).get("os_presets", {})))


def host_facts(host: str, index: int, os_name: str | None = None,
               spec: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Facts of the host at 0-based position `index` in `groups['all']`.

    `os_name` None takes the spec's `os:`. Mirrors `oracle/plugins/action/oracle_facts.py`.
    """
    spec = spec if spec is not None else _base_spec()
    name = os_name or spec.get("os")
    presets = spec.get("os_presets", {})
    if name and name not in presets:
        raise SetupError(f"unknown OS {name!r} (known: {', '.join(sorted(presets))})")
    facts = deep_merge(spec.get("common", {}), presets.get(name, {}) if name else {})
    auto = spec.get("auto", {})
    net4 = ipaddress.ip_network(auto.get("ipv4_network", "10.0.0.0/24"))
    ip4 = str(net4.network_address + int(auto.get("ipv4_first_host", 11)) + index)
    iface = auto.get("interface", "eth0")
    mac = "52:54:00:00:00:%02x" % ((index + 0x11) & 0xFF)
    domain = auto.get("domain", "")
    v4 = {"address": ip4, "broadcast": str(net4.broadcast_address), "netmask": str(net4.netmask),
          "network": str(net4.network_address), "prefix": str(net4.prefixlen)}
    facts.update({
        "ansible_hostname": host.split(".")[0],
        "ansible_nodename": host,
        "ansible_fqdn": host if "." in host or not domain else f"{host}.{domain}",
        "ansible_domain": domain,
        "ansible_default_ipv4": {
            "address": ip4, "alias": iface, "broadcast": v4["broadcast"],
            "gateway": str(net4.network_address + 1), "interface": iface, "macaddress": mac,
            "mtu": 1500, "netmask": v4["netmask"], "network": v4["network"], "prefix": v4["prefix"],
            "type": "ether",
        },
        "ansible_all_ipv4_addresses": [ip4],
        "ansible_interfaces": ["lo", iface],
        f"ansible_{iface}": {"device": iface, "active": True, "macaddress": mac, "mtu": 1500,
                             "type": "ether", "ipv4": v4},
    })
    if auto.get("ipv6_network"):
        net6 = ipaddress.ip_network(auto["ipv6_network"])
        ip6 = str(net6.network_address + int(auto.get("ipv6_first_host", 0x11)) + index)
        facts["ansible_default_ipv6"] = {
            "address": ip6, "gateway": str(net6.network_address + 1), "interface": iface,
            "macaddress": mac, "mtu": 1500, "prefix": str(net6.prefixlen), "scope": "global",
            "type": "ether"}
        facts["ansible_all_ipv6_addresses"] = [ip6]
        facts[f"ansible_{iface}"]["ipv6"] = [{"address": ip6, "prefix": str(net6.prefixlen),
                                              "scope": "global"}]
    else:
        facts["ansible_default_ipv6"] = {}
        facts["ansible_all_ipv6_addresses"] = []
    return deep_merge(facts, spec.get("hosts", {}).get(host, {}))


def inventory_facts(hosts: Sequence[str], os_name: str | None = None,
                    overlays: Sequence[Mapping[str, Any]] = ()) -> dict[str, dict[str, Any]]:
    """Facts of every host, `hosts` in `groups['all']` order (that order gives the addresses)."""
    spec = fact_spec(overlays)
    return {h: host_facts(h, i, os_name, spec) for i, h in enumerate(hosts)}
