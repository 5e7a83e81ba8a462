"""`ansible.utils` IP filters (`ipaddr`, `ipwrap`, `ipv4`, `ipv6`) with netaddr.

Behaviour follows ansible.utils 5.x (`plugin_utils/base/ipaddr_utils.py`, as shipped in
ansible 11.13, Kubespray's pin), including its quirks: a failed query returns `False` or `None`,
a list input is filtered element by element, an `Undefined` or `None` input raises
"Unrecognized type". Only the query forms in `QUERIES` are provided (Kubespray uses '', 'address',
'net', 'network', 'netmask', 'prefix' and the n-th address); any other raises like the collection
does for an unknown query.

Usage in templates::

    {{ kube_service_addresses | ansible.utils.ipaddr('net') | ansible.utils.ipaddr(1) }}
    {{ main_ip | ansible.utils.ipwrap }}
"""

from __future__ import annotations

from collections.abc import Callable
from types import GeneratorType
from typing import Any

import netaddr
from ansible.errors import AnsibleFilterError


def _ip(v: Any, vtype: str, value: str) -> Any:
    if v.size == 1:
        return str(v.ip)
    if v.ip != v.network or not v.broadcast or v.version == 6:
        return str(v.ip)
    return None


def _empty(v: Any, vtype: str, value: str) -> Any:
    if v:
        return str(v.ip) if vtype == "address" else str(v)
    return None


def _net(v: Any, vtype: str, value: str) -> Any:
    if v.size > 1 and v.ip == v.network:
        return f"{v.network}/{v.prefixlen}"
    return None


def _host(v: Any, vtype: str, value: str) -> Any:
    if v.size == 1:
        return str(v)
    if v.ip != v.network or not v.broadcast:
        return f"{v.ip}/{v.prefixlen}"
    return None


def _address_prefix(v: Any, vtype: str, value: str) -> Any:
    if v.size > 2 and v.ip in (v.network, v.broadcast):
        return False
    return f"{v.ip}/{v.prefixlen}"


def _wrap(v: Any, vtype: str, value: str) -> Any:
    if v.version == 6:
        return f"[{v.ip}]" if vtype == "address" else f"[{v.ip}]/{v.prefixlen}"
    return value


def _to_v4(v: Any, vtype: str, value: str) -> Any:
    if v.version == 6:
        try:
            return str(v.ipv4())
        except Exception:
            return False
    return value


def _is_global(ip: Any) -> bool:
    return bool(ip.is_global())


def _public(v: Any, vtype: str, value: str) -> Any:
    ip = netaddr.IPAddress(str(v.ip))
    if ip.is_unicast() and _is_global(ip) and not ip.is_loopback() and not ip.is_netmask() \
            and not ip.is_hostmask():
        return value
    return None


def _private(v: Any, vtype: str, value: str) -> Any:
    return None if _is_global(v.ip) else value


def _int(v: Any, vtype: str, value: str) -> Any:
    return int(v.ip) if vtype == "address" else f"{int(v.ip)}/{int(v.prefixlen)}"


QUERIES: dict[str, Callable[[Any, str, str], Any]] = {
    "": _empty,
    "address": _ip,
    "ip": _ip,
    "address/prefix": _address_prefix,
    "host/prefix": _address_prefix,
    "bool": lambda v, t, x: True if v else None,
    "broadcast": lambda v, t, x: str(v.broadcast) if v.size > 2 else None,
    "cidr": lambda v, t, x: str(v),
    "host": _host,
    "hostmask": lambda v, t, x: str(v.hostmask),
    "int": _int,
    "ipv4": _to_v4,
    "v4": _to_v4,
    "ipv6": lambda v, t, x: str(v.ipv6()) if v.version == 4 else x,
    "v6": lambda v, t, x: str(v.ipv6()) if v.version == 4 else x,
    "net": _net,
    "netmask": lambda v, t, x: str(v.netmask),
    "network": lambda v, t, x: str(v.network),
    "network_id": lambda v, t, x: str(v.network),
    "network/prefix": lambda v, t, x: str(v.cidr),
    "subnet": lambda v, t, x: str(v.cidr),
    "prefix": lambda v, t, x: int(v.prefixlen),
    "private": _private,
    "public": _public,
    "revdns": lambda v, t, x: v.ip.reverse_dns,
    "size": lambda v, t, x: v.size,
    "type": lambda v, t, x: "address" if v.size == 1 else ("network" if v.ip == v.network else "address"),
    "version": lambda v, t, x: v.version,
    "wrap": _wrap,
}


def _parse(value: Any, version: int) -> tuple[Any, str, str] | None:
    """(IPNetwork, 'address'|'network', normalized value), or None if `value` is not an IP."""
    text = str(value)
    if text.isdigit():
        bits = ("::/0", 128) if version == 6 else ("0.0.0.0/0", 32)
        for base, plen in (bits, ("::/0", 128)):
            try:
                v = netaddr.IPNetwork(base)
                v.value = int(text)
                v.prefixlen = plen
                return v, "address", str(v)
            except Exception:
                continue
        return None
    try:
        v = netaddr.IPNetwork(text)
    except Exception:
        return None
    return v, ("network" if text.count("/") == 1 else "address"), text


def ipaddr(value: Any, query: Any = "", version: int = 0, alias: str = "ipaddr") -> Any:
    """`value | ansible.utils.ipaddr(query)`: validate, filter or transform IP addresses."""
    if not isinstance(value, str | list | int | tuple | GeneratorType) or isinstance(value, bool):
        raise AnsibleFilterError(f"Unrecognized type <{type(value)}> for {alias} filter <value>")
    return _ipaddr(value, "" if query is None else str(query), version, alias)


def _ipaddr(value: Any, query: str, version: int, alias: str) -> Any:
    if isinstance(value, list | tuple | GeneratorType):
        results = [_ipaddr(e, query, version, alias) for e in value]
        return [r for r in results if r]
    if not value or value is True:
        return False
    parsed = _parse(value, version)
    if parsed is None:
        return False
    v, vtype, text = parsed
    if query and query not in QUERIES and not query.isdigit():
        cidr = _parse(query, 0)
        if cidr is not None and cidr[1] == "network":
            if version and v.version != version:
                return False
            try:
                return text if v in netaddr.IPSet([netaddr.IPNetwork(query)]) else None
            except Exception:
                return False
    if version and v.version != version:
        return False
    func = QUERIES.get(query)
    if func is not None:
        return func(v, vtype, text)
    try:
        float(query)
    except ValueError:
        raise AnsibleFilterError(f"{alias}: unknown filter type: {query}") from None
    if v.size == 1:
        return str(v.ip) if vtype == "address" else str(v)
    try:
        return f"{v[int(query)]}/{v.prefixlen}"
    except Exception:
        return False


def ipv4(value: Any, query: Any = "") -> Any:
    """`value | ansible.utils.ipv4(query)`: like ipaddr, IPv4 values only."""
    return ipaddr(value, query, 4, "ipv4")


def ipv6(value: Any, query: Any = "") -> Any:
    """`value | ansible.utils.ipv6(query)`: like ipaddr, IPv6 values only."""
    return ipaddr(value, query, 6, "ipv6")


def ipwrap(value: Any, query: Any = "") -> Any:
    """`value | ansible.utils.ipwrap`: wrap IPv6 addresses in brackets, leave the rest alone."""
    q = "" if query is None else str(query)
    try:
        if isinstance(value, list | tuple | GeneratorType):
            return [_ipaddr(e, "wrap", 0, "ipwrap") if _ipaddr(e, q, 0, "ipwrap") else e for e in value]
        found = ipaddr(value, q, 0, "ipwrap")
        return _ipaddr(found, "wrap", 0, "ipwrap") if found else value
    except Exception:
        return value
