"""The Kubernetes CEL libraries celpy lacks, in Python over celpy's value types.

Each function follows its Go implementation (k8s.io/apiserver pkg/cel/library, cel-go ext): the
same overloads, the same results and, where the API server's message is observable (a rule's
`... evaluating rule: ...`), the same error wording. A function returns a `CELEvalError` for a
CEL runtime error and raises `TypeError` for an argument type it has no overload for (celpy turns
that into `no such overload`). `runtime` binds them to names per Kubernetes minor.
"""

from __future__ import annotations

import base64
import ipaddress
import math
import re
import urllib.parse
from collections.abc import Callable
from datetime import datetime
from fractions import Fraction
from typing import Any

import re2
from celpy import celtypes as ct
from celpy.evaluation import CELEvalError

Fn = Callable[..., Any]
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


def err(message: str) -> CELEvalError:
    return CELEvalError(message, ValueError, None)


class Namespace:
    """A name that qualifies functions: `sets.contains(...)`, `optional.of(...)`, `format.uri()`."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"<namespace {self.name}>"


def _want(value: Any, *types: type) -> Any:
    if not isinstance(value, types) or isinstance(value, ct.BoolType) and ct.BoolType not in types:
        raise TypeError(f"no such overload for {type(value).__name__}")
    return value


# --- optional types (cel-go OptionalTypes, Kubernetes 1.28+) -----------------------------------

class Optional:
    """`optional.of(x)` / `optional.none()`; `.hasValue()`, `.value()`, `.orValue(v)`."""

    __slots__ = ("present", "item")

    def __init__(self, present: bool, item: Any = None) -> None:
        self.present, self.item = present, item

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Optional) and (self.present, self.item) == (other.present, other.item)

    def __hash__(self) -> int:
        return hash((self.present, repr(self.item)))

    def __repr__(self) -> str:
        return f"optional.of({self.item!r})" if self.present else "optional.none()"


NONE = Optional(False)


def _zero(v: Any) -> bool:
    return v is None or (not isinstance(v, Optional) and not v and not isinstance(v, ct.BoolType | bool)) or v is False


# --- strings (cel-go ext.Strings) ---------------------------------------------------------------

def char_at(s: Any, i: Any) -> Any:
    s, i = _want(s, str), _want(i, int)
    if i < 0 or i > len(s):
        return err(f"index out of range: {i}")
    return ct.StringType(s[i] if i < len(s) else "")


def index_of(s: Any, sub: Any, start: Any = 0) -> Any:
    if isinstance(s, list):
        return list_index_of(s, sub)
    s, sub, start = _want(s, str), _want(sub, str), _want(start, int)
    if start < 0 or start > len(s):
        return err(f"index out of range: {start}")
    return ct.IntType(s.find(sub, start))


def last_index_of(s: Any, sub: Any, start: Any = None) -> Any:
    if isinstance(s, list):
        return list_last_index_of(s, sub)
    s, sub = _want(s, str), _want(sub, str)
    if start is None:
        return ct.IntType(s.rfind(sub))
    start = _want(start, int)
    if start < 0 or start > len(s):
        return err(f"index out of range: {start}")
    return ct.IntType(s.rfind(sub, 0, start + len(sub)))


def lower_ascii(s: Any) -> Any:
    return ct.StringType("".join(c.lower() if c.isascii() else c for c in _want(s, str)))


def upper_ascii(s: Any) -> Any:
    return ct.StringType("".join(c.upper() if c.isascii() else c for c in _want(s, str)))


def replace(s: Any, old: Any, new: Any, n: Any = -1) -> Any:
    s, old, new, n = _want(s, str), _want(old, str), _want(new, str), _want(n, int)
    return ct.StringType(s.replace(old, new, n if n >= 0 else -1))


def split(s: Any, sep: Any, n: Any = -1) -> Any:
    s, sep, n = _want(s, str), _want(sep, str), _want(n, int)
    if n == 0:
        return ct.ListType([])
    if sep == "":
        parts = list(s) if n < 0 else [*list(s[: n - 1]), s[n - 1:]] if len(s) >= n else list(s)
    else:
        parts = s.split(sep, n - 1 if n > 0 else -1)
    return ct.ListType([ct.StringType(p) for p in parts])


def substring(s: Any, start: Any, end: Any = None) -> Any:
    s, start = _want(s, str), _want(start, int)
    stop = len(s) if end is None else _want(end, int)
    if start < 0 or start > len(s):
        return err(f"index out of range: {start}")
    if stop < 0 or stop > len(s):
        return err(f"index out of range: {stop}")
    if start > stop:
        return err(f"invalid substring range. start: {start}, end: {stop}")
    return ct.StringType(s[start:stop])


def trim(s: Any) -> Any:
    return ct.StringType(_want(s, str).strip())


def join(lst: Any, sep: Any = "") -> Any:
    items = _want(lst, list)
    sep = _want(sep, str)
    for i in items:
        _want(i, str)
    return ct.StringType(sep.join(items))


def quote(ns: Any, s: Any) -> Any:
    s = _want(s, str)
    out = ['"']
    escapes = {"\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\v": "\\v",
               "\\": "\\\\", '"': '\\"'}
    for c in s:
        out.append(escapes.get(c, c))
    out.append('"')
    return ct.StringType("".join(out))


def _fmt_value(v: Any) -> str:
    if isinstance(v, ct.BoolType):
        return "true" if v else "false"
    if v is None:
        return "null"
    if isinstance(v, list):
        return "[" + ", ".join(_fmt_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{_fmt_value(k)}: {_fmt_value(x)}" for k, x in v.items()) + "}"
    if isinstance(v, float):
        return repr(float(v)) if not v.is_integer() else str(int(v)) if abs(v) < 1e21 else repr(float(v))
    if isinstance(v, bytes):
        return v.decode("utf-8", "replace")
    return str(v)


_VERB = re.compile(r"%(?:\.(\d+))?([sdfeExXobc%])")


def string_format(s: Any, args: Any) -> Any:
    """`'%s is %d'.format([a, b])` (cel-go strings v1): %s %d %f %e %x %X %o %b %%."""
    s, args = _want(s, str), _want(args, list)
    out: list[str] = []
    pos = argi = 0
    for m in _VERB.finditer(s):
        out.append(s[pos:m.start()])
        pos = m.end()
        prec, verb = m.group(1), m.group(2)
        if verb == "%":
            out.append("%")
            continue
        if argi >= len(args):
            return err(f"index {argi} out of range")
        a = args[argi]
        argi += 1
        if verb == "s":
            out.append(_fmt_value(a))
        elif verb == "d":
            if not isinstance(a, int) or isinstance(a, ct.BoolType):
                return err("error during formatting: decimal clause can only be used on integers, was given "
                           f"{type(a).__name__}")
            out.append(str(int(a)))
        elif verb in "fe":
            if not isinstance(a, int | float) or isinstance(a, ct.BoolType):
                return err(f"error during formatting: fixed-point clause can only be used on doubles, was given "
                           f"{type(a).__name__}")
            out.append(format(float(a), f".{prec or 6}{verb}"))
        elif verb in "xXob":
            if isinstance(a, str | bytes):
                raw = a.encode() if isinstance(a, str) else bytes(a)
                text = raw.hex() if verb in "xX" else ""
                out.append(text.upper() if verb == "X" else text)
            else:
                out.append(format(int(a), {"x": "x", "X": "X", "o": "o", "b": "b"}[verb]))
        else:
            out.append(str(a))
    out.append(s[pos:])
    return ct.StringType("".join(out))


# --- lists (k8s library.Lists; cel-go ext.Lists v3 for 1.34) -----------------------------------

def _comparable(lst: list[Any]) -> None:
    kinds = {float if isinstance(x, int | float) and not isinstance(x, ct.BoolType) else type(x) for x in lst}
    if len(kinds) > 1:
        raise TypeError("no such overload")


def is_sorted(lst: Any) -> Any:
    lst = _want(lst, list)
    _comparable(lst)
    return ct.BoolType(all(lst[i] <= lst[i + 1] for i in range(len(lst) - 1)))


def list_sum(lst: Any) -> Any:
    lst = _want(lst, list)
    if not lst:
        return ct.IntType(0)
    total = lst[0]
    for x in lst[1:]:
        total = total + x
    return total


def list_max(lst: Any) -> Any:
    lst = _want(lst, list)
    if not lst:
        return err("max called on empty list")
    _comparable(lst)
    return max(lst)


def list_min(lst: Any) -> Any:
    lst = _want(lst, list)
    if not lst:
        return err("min called on empty list")
    _comparable(lst)
    return min(lst)


def list_index_of(lst: Any, item: Any) -> Any:
    for i, x in enumerate(_want(lst, list)):
        if _same(x, item):
            return ct.IntType(i)
    return ct.IntType(-1)


def list_last_index_of(lst: Any, item: Any) -> Any:
    lst = _want(lst, list)
    for i in range(len(lst) - 1, -1, -1):
        if _same(lst[i], item):
            return ct.IntType(i)
    return ct.IntType(-1)


def _num_eq(a: Any, b: Any) -> bool:
    num = (int, float)
    return (isinstance(a, num) and isinstance(b, num) and not isinstance(a, ct.BoolType)
            and not isinstance(b, ct.BoolType) and float(a) == float(b))


def _same(a: Any, b: Any) -> bool:
    """CEL equality of two list elements (numbers compare across int, uint and double)."""
    if type(a) is type(b):
        return bool(a == b)
    return _num_eq(a, b)


def list_slice(lst: Any, start: Any, end: Any) -> Any:
    lst, start, end = _want(lst, list), _want(start, int), _want(end, int)
    if start < 0 or end < 0:
        return err(f"cannot slice({start}, {end}), negative indexes not supported")
    if start > end:
        return err(f"cannot slice({start}, {end}), start index must be less than or equal to end index")
    if end > len(lst):
        return err(f"cannot slice({start}, {end}), list is length {len(lst)}")
    return ct.ListType(lst[start:end])


def flatten(lst: Any, depth: Any = 1) -> Any:
    lst, depth = _want(lst, list), _want(depth, int)
    if depth < 0:
        return err("level must be non-negative")

    def flat(xs: list[Any], d: int) -> list[Any]:
        out: list[Any] = []
        for x in xs:
            out.extend(flat(x, d - 1) if isinstance(x, list) and d > 0 else [x])
        return out

    return ct.ListType(flat(lst, depth))


def distinct(lst: Any) -> Any:
    out: list[Any] = []
    for x in _want(lst, list):
        if not any(_same(x, y) for y in out):
            out.append(x)
    return ct.ListType(out)


def reverse(v: Any) -> Any:
    if isinstance(v, str):
        return ct.StringType(v[::-1])
    return ct.ListType(list(reversed(_want(v, list))))


def list_sort(lst: Any) -> Any:
    lst = _want(lst, list)
    _comparable(lst)
    return ct.ListType(sorted(lst))


def lists_range(ns: Any, n: Any) -> Any:
    return ct.ListType([ct.IntType(i) for i in range(_want(n, int))])


# --- regex (k8s library.Regex) -----------------------------------------------------------------

def _re2(pattern: str) -> Any:
    try:
        return re2.compile(pattern)
    except re2.error as e:
        return err(f"error parsing regexp: {e}")


def find(s: Any, pattern: Any) -> Any:
    rx = _re2(_want(pattern, str))
    if isinstance(rx, CELEvalError):
        return rx
    m = rx.search(_want(s, str))
    return ct.StringType(m.group(0) if m else "")


def find_all(s: Any, pattern: Any, limit: Any = -1) -> Any:
    """Go's Regexp.FindAllString: successive non-overlapping matches; an empty match right after
    the previous match is dropped."""
    rx = _re2(_want(pattern, str))
    if isinstance(rx, CELEvalError):
        return rx
    s, limit = _want(s, str), _want(limit, int)
    out: list[Any] = []
    pos, prev_end = 0, -1
    while pos <= len(s) and (limit < 0 or len(out) < limit):
        m = rx.search(s, pos)
        if not m:
            break
        start, end = m.span()
        accept = True
        if end == pos:  # an empty match at pos
            accept = start != prev_end
            pos += 1
        else:
            pos = end
        prev_end = end
        if accept:
            out.append(ct.StringType(m.group(0)))
    return ct.ListType(out)


def matches(s: Any, pattern: Any) -> Any:
    rx = _re2(_want(pattern, str))
    if isinstance(rx, CELEvalError):
        return rx
    return ct.BoolType(rx.search(_want(s, str)) is not None)


# --- URLs (k8s library.URLs: Go's url.ParseRequestURI, then url.Parse) -------------------------

class URL:
    __slots__ = ("scheme", "host", "path", "raw_query", "raw")

    def __init__(self, raw: str) -> None:
        self.raw = raw
        rest = raw.split("#", 1)[0]
        self.scheme = ""
        m = re.match(r"^([A-Za-z][A-Za-z0-9+.-]*):", rest)
        if m:
            self.scheme = m.group(1).lower()
            rest = rest[m.end():]
        self.host = ""
        if rest.startswith("//"):
            rest = rest[2:]
            authority, slash, rest = rest.partition("/")
            rest = slash + rest
            authority, q, tail = authority.partition("?")
            if q:
                rest = "?" + tail
            self.host = authority.rpartition("@")[2]
        path, _, self.raw_query = rest.partition("?")
        self.path = urllib.parse.unquote(path)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, URL) and self.raw == other.raw

    def __hash__(self) -> int:
        return hash(self.raw)

    def __str__(self) -> str:
        return self.raw


def _url_error(raw: str) -> str | None:
    """Go's url.ParseRequestURI: an absolute URI or an absolute path, with a valid host and port."""
    if raw == "" or any(ord(c) < 0x20 or ord(c) == 0x7F for c in raw):
        return "invalid URI for request" if raw == "" else "invalid control character in URL"
    m = re.match(r"^([A-Za-z][A-Za-z0-9+.-]*):", raw)
    if not m:
        if raw.startswith("/"):
            return None
        return "invalid URI for request"
    rest = raw[m.end():]
    if not rest.startswith("/"):
        return None if rest else "invalid URI for request"
    if rest.startswith("//"):
        authority = re.split(r"[/?]", rest[2:], maxsplit=1)[0]
        host = authority.rpartition("@")[2]
        if host.startswith("["):
            close = host.find("]")
            if close < 0:
                return "missing ']' in host"
            port_part = host[close + 1:]
            if port_part and not re.fullmatch(r":\d*", port_part):
                return f'invalid port "{port_part}" after host'
        elif ":" in host:
            port = host[host.index(":"):]
            if not re.fullmatch(r":\d*", port):
                return f'invalid port "{port}" after host'
    return None


def url(s: Any) -> Any:
    s = _want(s, str)
    problem = _url_error(s)
    if problem:
        return err(f'URL parse error during conversion from string: parse "{s}": {problem}')
    return URL(s)


def is_url(s: Any) -> Any:
    return ct.BoolType(_url_error(_want(s, str)) is None)


def get_scheme(u: Any) -> Any:
    return ct.StringType(_want(u, URL).scheme)


def get_host(u: Any) -> Any:
    return ct.StringType(_want(u, URL).host)


def get_hostname(u: Any) -> Any:
    host = _want(u, URL).host
    if host.startswith("["):
        return ct.StringType(host[1:host.find("]")])
    return ct.StringType(host.partition(":")[0])


def get_port(u: Any) -> Any:
    host = _want(u, URL).host
    if host.startswith("["):
        host = host[host.find("]") + 1:]
    return ct.StringType(host.partition(":")[2])


def get_escaped_path(u: Any) -> Any:
    return ct.StringType(urllib.parse.quote(_want(u, URL).path, safe="/!$&'()*+,;=:@-._~"))


def get_query(u: Any) -> Any:
    out: dict[Any, Any] = {}
    for part in _want(u, URL).raw_query.split("&"):
        if not part:
            continue
        key, _, value = part.partition("=")
        k = ct.StringType(urllib.parse.unquote_plus(key))
        out.setdefault(k, ct.ListType([])).append(ct.StringType(urllib.parse.unquote_plus(value)))
    return ct.MapType(out)


# --- quantity (k8s library.Quantity; resource.Quantity's grammar) -------------------------------

_QTY = re.compile(r"^([+-]?)(\d+(?:\.\d*)?|\.\d+)(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E|[eE][+-]?\d+)?$")
_SUFFIX = {"Ki": Fraction(2**10), "Mi": Fraction(2**20), "Gi": Fraction(2**30), "Ti": Fraction(2**40),
           "Pi": Fraction(2**50), "Ei": Fraction(2**60), "n": Fraction(1, 10**9), "u": Fraction(1, 10**6),
           "m": Fraction(1, 1000), "": Fraction(1), "k": Fraction(1000), "M": Fraction(10**6),
           "G": Fraction(10**9), "T": Fraction(10**12), "P": Fraction(10**15), "E": Fraction(10**18)}


class Quantity:
    __slots__ = ("value", "text")

    def __init__(self, value: Fraction, text: str) -> None:
        self.value, self.text = value, text

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Quantity) and self.value == other.value

    def __hash__(self) -> int:
        return hash(self.value)

    def __str__(self) -> str:
        return self.text

    def __repr__(self) -> str:
        return f"quantity({self.text!r})"


def parse_quantity(s: str) -> Quantity | None:
    m = _QTY.match(s)
    if not m:
        return None
    sign, number, suffix = m.group(1), m.group(2), m.group(3) or ""
    if suffix[:1] in ("e", "E"):
        exp = int(suffix[1:])
        if abs(exp) > 10**4:
            return None
        factor = Fraction(10) ** exp
    else:
        factor = _SUFFIX[suffix]
    value = Fraction(number) * factor
    # resource.Quantity keeps at most nanounits: smaller values round up (towards +inf of magnitude)
    scaled = value * 10**9
    if scaled.denominator != 1:
        value = Fraction(math.ceil(scaled), 10**9)
    return Quantity(-value if sign == "-" else value, s)


def quantity(s: Any) -> Any:
    s = _want(s, str)
    q = parse_quantity(s)
    if q is None:
        return err("quantities must match the regular expression "
                   "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'")
    return q


def is_quantity(s: Any) -> Any:
    return ct.BoolType(parse_quantity(_want(s, str)) is not None)


def _q(v: Any) -> Fraction:
    if isinstance(v, Quantity):
        return v.value
    if isinstance(v, int) and not isinstance(v, ct.BoolType):
        return Fraction(int(v))
    raise TypeError("no such overload")


def _fmt_q(v: Fraction) -> str:
    return str(v.numerator) if v.denominator == 1 else f"{float(v)}"


def q_sign(q: Any) -> Any:
    v = _want(q, Quantity).value
    return ct.IntType((v > 0) - (v < 0))


def q_is_integer(q: Any) -> Any:
    v = _want(q, Quantity).value
    return ct.BoolType(v.denominator == 1 and INT64_MIN <= v <= INT64_MAX)


def q_as_integer(q: Any) -> Any:
    v = _want(q, Quantity).value
    if v.denominator != 1 or not INT64_MIN <= v <= INT64_MAX:
        return err("cannot convert value to integer")
    return ct.IntType(int(v))


def q_as_float(q: Any) -> Any:
    try:
        return ct.DoubleType(float(_want(q, Quantity).value))
    except OverflowError:
        return ct.DoubleType(math.inf if _want(q, Quantity).value > 0 else -math.inf)


def q_add(q: Any, other: Any) -> Any:
    v = _want(q, Quantity).value + _q(other)
    return Quantity(v, _fmt_q(v))


def q_sub(q: Any, other: Any) -> Any:
    v = _want(q, Quantity).value - _q(other)
    return Quantity(v, _fmt_q(v))


def _cmp_q(a: Any, b: Any) -> int:
    x: Fraction = _want(a, Quantity).value
    y: Fraction = _want(b, Quantity).value
    return int(x > y) - int(x < y)


def _semver_or(fn_q: Callable[[Any, Any], Any], fn_s: Callable[[Any, Any], Any]) -> Fn:
    def dispatch(a: Any, b: Any) -> Any:
        return fn_s(a, b) if isinstance(a, Semver) else fn_q(a, b)

    return dispatch


# --- IP and CIDR (k8s library.IP / library.CIDR: Go's netip) ------------------------------------

class IP:
    __slots__ = ("addr",)

    def __init__(self, addr: ipaddress.IPv4Address | ipaddress.IPv6Address) -> None:
        self.addr = addr

    def __eq__(self, other: object) -> bool:
        return isinstance(other, IP) and self.addr == other.addr

    def __hash__(self) -> int:
        return hash(self.addr)

    def __str__(self) -> str:
        return str(self.addr)


class CIDR:
    __slots__ = ("addr", "prefix")

    def __init__(self, addr: ipaddress.IPv4Address | ipaddress.IPv6Address, prefix: int) -> None:
        self.addr, self.prefix = addr, prefix

    @property
    def network(self) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
        return ipaddress.ip_network(f"{self.addr}/{self.prefix}", strict=False)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, CIDR) and (self.addr, self.prefix) == (other.addr, other.prefix)

    def __hash__(self) -> int:
        return hash((self.addr, self.prefix))

    def __str__(self) -> str:
        return f"{self.addr}/{self.prefix}"


def _parse_addr(raw: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | str:
    if "%" in raw:
        try:
            ipaddress.ip_address(raw.split("%", 1)[0])
        except ValueError:
            pass
        else:
            return f"IP address {raw!r} with zone value is not allowed".replace("'", '"')
    try:
        addr = ipaddress.ip_address(raw)
    except ValueError as e:
        return f'IP Address "{raw}" parse error during conversion from string: {e}'
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        return f'IPv4-mapped IPv6 address "{raw}" is not allowed'
    return addr


def ip(s: Any) -> Any:
    addr = _parse_addr(_want(s, str))
    return err(addr) if isinstance(addr, str) else IP(addr)


def is_ip(s: Any) -> Any:
    return ct.BoolType(not isinstance(_parse_addr(_want(s, str)), str))


def ip_is_canonical(ns: Any, s: Any) -> Any:
    s = _want(s, str)
    addr = _parse_addr(s)
    if isinstance(addr, str):
        return err(addr)
    return ct.BoolType(str(addr) == s)


def ip_family(v: Any) -> Any:
    return ct.IntType(_want(v, IP).addr.version)


def ip_is_unspecified(v: Any) -> Any:
    return ct.BoolType(_want(v, IP).addr.is_unspecified)


def ip_is_loopback(v: Any) -> Any:
    return ct.BoolType(_want(v, IP).addr.is_loopback)


def ip_is_link_local_multicast(v: Any) -> Any:
    a = _want(v, IP).addr
    if a.version == 4:
        return ct.BoolType(a in ipaddress.ip_network("224.0.0.0/24"))
    return ct.BoolType(int(a) >> 112 & 0xFF0F == 0xFF02)


def ip_is_link_local_unicast(v: Any) -> Any:
    a = _want(v, IP).addr
    if a.version == 4:
        return ct.BoolType(a in ipaddress.ip_network("169.254.0.0/16"))
    return ct.BoolType(a in ipaddress.ip_network("fe80::/10"))


def ip_is_global_unicast(v: Any) -> Any:
    """Go's netip.Addr.IsGlobalUnicast: not unspecified, loopback, multicast, link-local or broadcast."""
    a = _want(v, IP).addr
    if a.version == 4 and a == ipaddress.IPv4Address("255.255.255.255"):
        return ct.BoolType(False)
    return ct.BoolType(not (a.is_unspecified or a.is_loopback or a.is_multicast
                            or ip_is_link_local_unicast(v)))


def _parse_cidr(raw: str) -> CIDR | str:
    addr_text, slash, bits = raw.partition("/")
    if not slash or not re.fullmatch(r"0|[1-9]\d{0,2}", bits):
        return f'network address parse error during conversion from string: netip.ParsePrefix("{raw}"): ' \
               "bad bits after slash" if slash else \
               f'network address parse error during conversion from string: netip.ParsePrefix("{raw}"): ' \
               "no '/'"
    if "%" in addr_text:
        return f'network address parse error during conversion from string: netip.ParsePrefix("{raw}"): ' \
               "IPv6 zones cannot be present in a prefix"
    try:
        addr = ipaddress.ip_address(addr_text)
    except ValueError as e:
        return f"network address parse error during conversion from string: {e}"
    if int(bits) > addr.max_prefixlen:
        return f'network address parse error during conversion from string: netip.ParsePrefix("{raw}"): ' \
               "prefix length out of range"
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        return f'IPv4-mapped IPv6 address "{raw}" is not allowed'
    return CIDR(addr, int(bits))


def cidr(s: Any) -> Any:
    c = _parse_cidr(_want(s, str))
    return err(c) if isinstance(c, str) else c


def is_cidr(s: Any) -> Any:
    return ct.BoolType(not isinstance(_parse_cidr(_want(s, str)), str))


def cidr_contains_ip(c: Any, other: Any) -> Any:
    net = _want(c, CIDR).network
    if isinstance(other, str):
        other = ip(other)
        if isinstance(other, CELEvalError):
            return other
    addr = _want(other, IP).addr
    return ct.BoolType(addr.version == net.version and addr in net)


def cidr_contains_cidr(c: Any, other: Any) -> Any:
    net = _want(c, CIDR).network
    if isinstance(other, str):
        other = cidr(other)
        if isinstance(other, CELEvalError):
            return other
    sub = _want(other, CIDR)
    return ct.BoolType(sub.addr.version == net.version and sub.prefix >= net.prefixlen
                       and sub.network.subnet_of(net))


def cidr_ip(c: Any) -> Any:
    return IP(_want(c, CIDR).addr)


def cidr_masked(c: Any) -> Any:
    net = _want(c, CIDR).network
    return CIDR(net.network_address, net.prefixlen)


def cidr_prefix_length(c: Any) -> Any:
    return ct.IntType(_want(c, CIDR).prefix)


def ip_or_cidr_ip(v: Any) -> Any:
    """`ip('1.2.3.4')` or `cidr(...).ip()`: the same name for a function and a method."""
    return cidr_ip(v) if isinstance(v, CIDR) else ip(v)


# --- sets (cel-go ext.Sets, Kubernetes 1.29+) ---------------------------------------------------

def _in(x: Any, lst: list[Any]) -> bool:
    return any(_same(x, y) for y in lst)


def sets_contains(ns: Any, a: Any, b: Any) -> Any:
    a, b = _want(a, list), _want(b, list)
    return ct.BoolType(all(_in(x, a) for x in b))


def sets_equivalent(ns: Any, a: Any, b: Any) -> Any:
    a, b = _want(a, list), _want(b, list)
    return ct.BoolType(all(_in(x, a) for x in b) and all(_in(x, b) for x in a))


def sets_intersects(ns: Any, a: Any, b: Any) -> Any:
    a, b = _want(a, list), _want(b, list)
    return ct.BoolType(any(_in(x, a) for x in b))


# --- format (k8s library.Format, 1.31+) ---------------------------------------------------------

_DNS1123_LABEL = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_DNS1123_SUB = rf"{_DNS1123_LABEL}(\.{_DNS1123_LABEL})*"
_DNS1035 = r"[a-z]([-a-z0-9]*[a-z0-9])?"
_QNAME = r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
_LABEL_VALUE = r"(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?"

_MSG_1123_LABEL = ("a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and "
                   "must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used "
                   f"for validation is '{_DNS1123_LABEL}')")
_MSG_1123_SUB = ("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', "
                 "and must start and end with an alphanumeric character (e.g. 'example.com', regex used for "
                 f"validation is '{_DNS1123_SUB}')")
_MSG_1035 = ("a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an "
             "alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', "
             f"regex used for validation is '{_DNS1035}')")


def _rx_check(rx: str, max_len: int, message: str) -> Callable[[str], list[str]]:
    compiled = re.compile(rx)

    def check(s: str) -> list[str]:
        errs = [f"must be no more than {max_len} characters"] if len(s) > max_len else []
        if not compiled.fullmatch(s):
            errs.append(message)
        return errs

    return check


def _prefix(check: Callable[[str], list[str]]) -> Callable[[str], list[str]]:
    # apimachinery's maskTrailingDash: a trailing "-" and the character before it become "a"
    return lambda s: check(s[:-2] + "a" if len(s) > 1 and s.endswith("-") else s)


def _qualified_name(s: str) -> list[str]:
    prefix, slash, name = s.rpartition("/")
    errs: list[str] = []
    if slash and not prefix:
        errs.append("prefix part must be non-empty")
    elif slash:
        errs += [f"prefix part {e}" for e in _rx_check(_DNS1123_SUB, 253, _MSG_1123_SUB)(prefix)]
    if not name:
        errs.append("name part must be non-empty")
    elif len(name) > 63:
        errs.append("name part must be no more than 63 characters")
    if name and not re.fullmatch(_QNAME, name):
        errs.append("name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end "
                    "with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for "
                    f"validation is '{_QNAME}')")
    return errs


def _uri(s: str) -> list[str]:
    problem = _url_error(s)
    return [f'parse "{s}": {problem}'] if problem else []


def _uuid(s: str) -> list[str]:
    ok = re.fullmatch(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}", s)
    return [] if ok else ["does not match the UUID format"]


def _byte(s: str) -> list[str]:
    try:
        base64.b64decode(s, validate=True)
    except ValueError:
        return ["invalid base64"]
    return []


def _date(s: str) -> list[str]:
    try:
        datetime.strptime(s, "%Y-%m-%d")
    except ValueError:
        return ["invalid date"]
    return []


def _datetime(s: str) -> list[str]:
    try:
        datetime.fromisoformat(s.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return ["invalid datetime"]
    return [] if "T" in s or "t" in s or " " in s else ["invalid datetime"]


FORMATS: dict[str, Callable[[str], list[str]]] = {
    "dns1123Label": _rx_check(_DNS1123_LABEL, 63, _MSG_1123_LABEL),
    "dns1123Subdomain": _rx_check(_DNS1123_SUB, 253, _MSG_1123_SUB),
    "dns1035Label": _rx_check(_DNS1035, 63, _MSG_1035),
    "qualifiedName": _qualified_name,
    "dns1123LabelPrefix": _prefix(_rx_check(_DNS1123_LABEL, 63, _MSG_1123_LABEL)),
    "dns1123SubdomainPrefix": _prefix(_rx_check(_DNS1123_SUB, 253, _MSG_1123_SUB)),
    "dns1035LabelPrefix": _prefix(_rx_check(_DNS1035, 63, _MSG_1035)),
    "labelValue": _rx_check(_LABEL_VALUE, 63, "a valid label must be an empty string or consist of alphanumeric "
                            "characters, '-', '_' or '.', and must start and end with an alphanumeric character "
                            "(e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is "
                            f"'{_LABEL_VALUE}')"),
    "uri": _uri,
    "uuid": _uuid,
    "byte": _byte,
    "date": _date,
    "datetime": _datetime,
}


class Format:
    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Format) and self.name == other.name

    def __hash__(self) -> int:
        return hash(self.name)


def format_named(ns: Any, name: Any) -> Any:
    name = _want(name, str)
    return Optional(True, Format(name)) if name in FORMATS else NONE


def format_validate(f: Any, s: Any) -> Any:
    errs = FORMATS[_want(f, Format).name](_want(s, str))
    return Optional(True, ct.ListType([ct.StringType(e) for e in errs])) if errs else NONE


def format_getter(name: str) -> Fn:
    def get(ns: Any) -> Any:
        return Format(name)

    return get


# --- optional -----------------------------------------------------------------------------------

def optional_of(ns: Any, v: Any) -> Any:
    return Optional(True, v)


def optional_none(ns: Any) -> Any:
    return NONE


def optional_of_non_zero(ns: Any, v: Any) -> Any:
    return NONE if _zero(v) else Optional(True, v)


def opt_has_value(o: Any) -> Any:
    return ct.BoolType(_want(o, Optional).present)


def opt_value(o: Any) -> Any:
    o = _want(o, Optional)
    return o.item if o.present else err("optional.none() dereference")


def opt_or_value(o: Any, v: Any) -> Any:
    o = _want(o, Optional)
    return o.item if o.present else v


def opt_or(o: Any, other: Any) -> Any:
    o = _want(o, Optional)
    return o if o.present else _want(other, Optional)


# --- semver (k8s library.SemverLib, 1.33+) ------------------------------------------------------

_SEMVER = re.compile(r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?$")


class Semver:
    __slots__ = ("parts", "pre", "raw")

    def __init__(self, raw: str, parts: tuple[int, int, int], pre: str) -> None:
        self.raw, self.parts, self.pre = raw, parts, pre

    def key(self) -> tuple[Any, ...]:
        pre = tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in self.pre.split(".")) if self.pre else ()
        return (self.parts, 1 if not self.pre else 0, pre)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Semver) and self.key() == other.key()

    def __hash__(self) -> int:
        return hash(self.raw)


def _parse_semver(s: str) -> Semver | None:
    m = _SEMVER.match(s)
    if not m:
        return None
    return Semver(s, (int(m.group(1)), int(m.group(2)), int(m.group(3))), m.group(4) or "")


def semver(s: Any) -> Any:
    v = _parse_semver(_want(s, str))
    return v if v else err(f"Invalid semver '{s}'")


def is_semver(s: Any) -> Any:
    return ct.BoolType(_parse_semver(_want(s, str)) is not None)


def _cmp_semver(a: Any, b: Any) -> int:
    x: tuple[Any, ...] = _want(a, Semver).key()
    y: tuple[Any, ...] = _want(b, Semver).key()
    return int(x > y) - int(x < y)


def is_greater_than(a: Any, b: Any) -> Any:
    return ct.BoolType((_cmp_semver(a, b) if isinstance(a, Semver) else _cmp_q(a, b)) > 0)


def is_less_than(a: Any, b: Any) -> Any:
    return ct.BoolType((_cmp_semver(a, b) if isinstance(a, Semver) else _cmp_q(a, b)) < 0)


def compare_to(a: Any, b: Any) -> Any:
    return ct.IntType(_cmp_semver(a, b) if isinstance(a, Semver) else _cmp_q(a, b))


def semver_major(v: Any) -> Any:
    return ct.IntType(_want(v, Semver).parts[0])


def semver_minor(v: Any) -> Any:
    return ct.IntType(_want(v, Semver).parts[1])


def semver_patch(v: Any) -> Any:
    return ct.IntType(_want(v, Semver).parts[2])


def by_receiver(*impls: tuple[type | tuple[type, ...], Fn], fallback: Fn | None = None) -> Fn:
    """One CEL name, several overloads: chosen by the type of the receiver (first argument)."""

    def dispatch(*args: Any) -> Any:
        if args:
            for types, fn in impls:
                if isinstance(args[0], types):
                    return fn(*args)
        if fallback is not None:
            return fallback(*args)
        raise TypeError("no such overload")

    return dispatch


def namespaced(ns: str, fn: Fn, fallback: Fn | None = None) -> Fn:
    """`ns.name(args)`: the receiver is the namespace marker; other receivers go to `fallback`."""

    def dispatch(*args: Any) -> Any:
        if args and isinstance(args[0], Namespace) and args[0].name == ns:
            return fn(*args)
        if fallback is not None:
            return fallback(*args)
        raise TypeError("no such overload")

    return dispatch


def size_of(v: Any) -> int:
    """What a value weighs for the cost meter (cel-go counts strings and lists by length)."""
    if isinstance(v, str | bytes | list | dict):
        return len(v)
    return 1

