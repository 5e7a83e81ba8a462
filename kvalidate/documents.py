"""Rendered text -> documents with positions, typed as the API server's YAML decoder types them.

The API server (and kubectl, kubeadm, kubelet...) read YAML through sigs.k8s.io/yaml, i.e. go-yaml v2
(YAML 1.1) converted to JSON. PyYAML is YAML 1.1 too, but differs in a few places, all handled here:

| plain scalar         | PyYAML         | go-yaml v2 / kvalidate |
| `2001-12-14`         | datetime.date  | "2001-12-14" (string)  |
| `y`, `n`, `Y`, `N`   | string         | true / false           |
| `1e3`                | "1e3"          | 1000.0                 |
| `0o17`               | "0o17"         | 15                     |
| `1:20` (sexagesimal) | 80             | "1:20"                 |
| `=`                  | error          | "="                    |
| non-string map keys  | int/bool keys  | strings ("1", "true")  |

Parsing uses libyaml (CParser) with a memoized resolver and one recursive builder (measured in
measured: ~1.7x plain CSafeLoader). Duplicate keys are findings with both lines.
Alias expansion and input size are bounded, so a billion-laughs document ends fast as a finding.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from kvalidate.model import Document, Finding, Position, SetupError, Severity, Source, field_path

if not getattr(yaml, "__with_libyaml__", False):  # pragma: no cover - environment check
    raise ImportError("kvalidate needs PyYAML built with libyaml (yaml.CParser); reinstall PyYAML")

from yaml._yaml import CParser  # noqa: E402 - after the libyaml check

MAX_BYTES = 16 * 1024 * 1024  # per file; larger inputs are findings, not work
MAX_VALUES = 1_000_000  # values one document may expand to (aliases included)
MAX_DEPTH = 300  # nesting depth of one document (CRD schemas, the deepest real documents, stay < 80)

_STR, _INT, _FLOAT = "tag:yaml.org,2002:str", "tag:yaml.org,2002:int", "tag:yaml.org,2002:float"
_BOOL, _NULL, _MERGE = "tag:yaml.org,2002:bool", "tag:yaml.org,2002:null", "tag:yaml.org,2002:merge"
_BINARY = "tag:yaml.org,2002:binary"

# go-yaml v2's resolve table (resolve.go): bools include y/n, floats need no dot, no sexagesimal,
# no timestamps (they stay strings once converted to JSON).
_BOOL_VALUES = {
    **dict.fromkeys("y Y yes Yes YES true True TRUE on On ON".split(), True),
    **dict.fromkeys("n N no No NO false False FALSE off Off OFF".split(), False),
}
_NULL_VALUES = {"", "~", "null", "Null", "NULL"}
# go-yaml v2's yamlStyleFloat: the plain scalars (underscores removed) it hands to strconv.ParseFloat
_FLOAT_RE = re.compile(r"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$")
_DOT_FLOAT_RE = re.compile(r"^\.[0-9]+([eE][-+]?[0-9]+)?$")  # what ParseFloat takes of a `.`-led scalar
_INT64_MIN, _INT64_MAX, _UINT64_MAX = -(1 << 63), (1 << 63) - 1, (1 << 64) - 1
_BASES = {"0x": (16, frozenset("0123456789abcdefABCDEF")), "0b": (2, frozenset("01")),
          "0o": (8, frozenset("01234567"))}
_OCTAL, _DECIMAL = frozenset("01234567"), frozenset("0123456789")
_SPECIAL_FLOATS = {".inf": float("inf"), ".Inf": float("inf"), ".INF": float("inf"),
                   "+.inf": float("inf"), "+.Inf": float("inf"), "+.INF": float("inf"),
                   "-.inf": float("-inf"), "-.Inf": float("-inf"), "-.INF": float("-inf"),
                   ".nan": float("nan"), ".NaN": float("nan"), ".NAN": float("nan")}


_PACKAGE = str(Path(__file__).resolve().parent) + os.sep


def internal_message(exc: BaseException, doing: str) -> str:
    """The message of an `internal-error` finding for an exception kvalidate did not expect while
    `doing` something to one document: a bug of kvalidate's, named with the innermost line of
    kvalidate's code it passed through. With KVALIDATE_DEBUG=1 the exception is raised instead (as
    `kvalidate.ansible.errors` does for the engine), with its traceback."""
    if os.environ.get("KVALIDATE_DEBUG", "") not in ("", "0"):
        raise exc
    where = ""
    tb = exc.__traceback__
    while tb is not None:
        name = tb.tb_frame.f_code.co_filename
        if name.startswith(_PACKAGE):
            where = f" at kvalidate/{name[len(_PACKAGE):].replace(os.sep, '/')}:{tb.tb_lineno}"
        tb = tb.tb_next
    return (f"kvalidate internal error while {doing} (a bug in kvalidate, not in the checked files): "
            f"{type(exc).__name__}: {exc}{where}; KVALIDATE_DEBUG=1 shows the traceback")


class YamlProblem(Exception):
    def __init__(self, rule: str, message: str, line: int, column: int, path: tuple[str | int, ...] = ()):
        super().__init__(message)
        self.rule, self.message, self.line, self.column, self.path = rule, message, line, column, path


def _plain_scalar(value: str) -> Any:
    """Type a plain (unquoted) scalar as go-yaml v2's resolve() does (resolve.go), in its order:
    the table of bools, nulls and special floats; then, for a scalar led by a digit or a sign,
    strconv.ParseInt(s, 0, 64), ParseUint(s, 0, 64) and (for the yamlStyleFloat shape) ParseFloat;
    for one led by `.`, ParseFloat. Whatever none of them accepts is a string: an integer beyond
    64 bits becomes a float if ParseFloat can hold it (`18446744073709551616` -> 1.8e19) and a
    string if it cannot (a 5,000-digit integer: ParseFloat's range error), as sigs.k8s.io/yaml
    hands it to JSON. Python never converts more than 64 bits' worth of digits to an int here, so
    its int-to-string limit (4,300 digits) cannot be reached."""
    if value in _NULL_VALUES:
        return None
    b = _BOOL_VALUES.get(value)
    if b is not None:
        return b
    f = _SPECIAL_FLOATS.get(value)
    if f is not None:
        return f
    c = value[:1]
    if c in "0123456789+-":  # go-yaml's hints 'D' and 'S' (value is not empty: "" is null)
        plain = value.replace("_", "")
        i = _go_int(plain)
        if i is not None:
            return i
        if _FLOAT_RE.match(plain):
            return _go_float(plain, value)
    elif c == "." and _DOT_FLOAT_RE.match(value):
        return _go_float(value, value)
    return value


def _go_int(s: str) -> int | None:
    """strconv.ParseInt(s, 0, 64), else strconv.ParseUint(s, 0, 64) (no sign), else None."""
    signed = s[:1] in ("+", "-")
    body = s[1:] if signed else s
    base, allowed = _BASES.get(body[:2].lower(), (0, _DECIMAL))
    if base:
        digits = body[2:]
    elif len(body) > 1 and body[0] == "0":
        base, allowed, digits = 8, _OCTAL, body[1:]
    else:
        base, digits = 10, body
    if not digits or not allowed.issuperset(digits):
        return None
    digits = digits.lstrip("0") or "0"
    if len(digits) > 64:  # more than 64 bits in any base (and far below Python's digit limit)
        return None
    v = int(digits, base)
    if s[:1] == "-":
        v = -v
    if _INT64_MIN <= v <= _INT64_MAX or (not signed and v <= _UINT64_MAX):
        return v
    return None


def _go_float(s: str, value: str) -> Any:
    """strconv.ParseFloat(s, 64): out of range (ParseFloat's ErrRange) leaves the scalar a string."""
    f = float(s)
    return value if f in (float("inf"), float("-inf")) else f


def _json_key(key: Any, node: Node) -> str:
    """Map keys become JSON object keys the way sigs.k8s.io/yaml converts them."""
    if isinstance(key, str):
        return key
    if isinstance(key, bool):
        return "true" if key else "false"
    if isinstance(key, int):
        return str(key)
    if isinstance(key, float):
        return repr(key) if key == key and key not in (float("inf"), float("-inf")) else str(key)
    line, col = node.start_mark.line + 1, node.start_mark.column + 1
    raise YamlProblem("yaml-syntax", f"unsupported map key of type {type(key).__name__}", line, col)


_PLAIN_MEMO: dict[str, Any] = {}  # plain scalar text -> typed value (manifests repeat values a lot)


def _plain(value: str) -> Any:
    v = _PLAIN_MEMO.get(value, _PLAIN_MEMO)
    if v is _PLAIN_MEMO:
        v = _plain_scalar(value)
        if len(value) <= 64 and len(_PLAIN_MEMO) < 100_000:
            _PLAIN_MEMO[value] = v
    return v


class _Builder:
    """Builds JSON-compatible data from a composed node tree in one recursive pass.

    Positions are not recorded here: the root node is kept and `NodePositions` walks it only when
    a finding needs a line. An alias shares the object built for its anchor (nothing downstream
    mutates documents), and its expansion counts against MAX_VALUES, so an alias bomb costs
    nothing to build and is refused before a validator would walk it.
    """

    __slots__ = ("built", "count", "stack", "duplicates")

    def __init__(self) -> None:
        self.built: dict[int, tuple[Any, int]] = {}  # id(container node) -> (value, values inside)
        self.count = 0
        self.stack: list[str | int] = []
        self.duplicates: list[tuple[tuple[str | int, ...], Position, int]] = []

    def build(self, node: Node) -> Any:
        if node.__class__ is ScalarNode:
            self.count += 1
            if node.tag == _PLAIN:
                return _plain(node.value)
            return self._scalar(node)
        known = self.built.get(id(node))
        if known is not None:  # an alias of an already built anchor
            self.count += known[1]
            if self.count > MAX_VALUES:
                self._fail("yaml-limits", f"aliases expand to more than {MAX_VALUES} values (alias bomb?)", node)
            return known[0]
        if len(self.stack) >= MAX_DEPTH:
            self._fail("yaml-limits", f"document nested deeper than {MAX_DEPTH} levels", node)
        before = self.count
        self.count += 1
        if isinstance(node, MappingNode):
            value: Any = self._mapping(node)
        elif isinstance(node, SequenceNode):
            value = []
            stack = self.stack
            for i, item in enumerate(node.value):
                stack.append(i)
                value.append(self.build(item))
                stack.pop()
        else:
            self._fail("yaml-syntax", f"unexpected node {node.tag}", node)
        self.built[id(node)] = (value, self.count - before)
        return value

    def _fail(self, rule: str, message: str, node: Node) -> None:
        raise YamlProblem(rule, message, node.start_mark.line + 1, node.start_mark.column + 1, tuple(self.stack))

    def _scalar(self, node: ScalarNode) -> Any:
        tag, value = node.tag, node.value
        if tag == _PLAIN:
            return _plain(value)
        if tag == _STR:
            return value
        if tag == _BOOL:
            return _BOOL_VALUES.get(value, value)
        if tag == _NULL:
            return None
        if tag == _INT:
            v = _plain_scalar(value)
            if isinstance(v, int) and not isinstance(v, bool):
                return v
        if tag == _FLOAT:
            v = _plain_scalar(value)
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                return float(v)
        if tag == _BINARY:
            return "".join(value.split())  # JSON has no bytes: keep the base64 text
        if tag.startswith("tag:yaml.org,2002:"):
            return value  # timestamps with an explicit tag etc.: strings, as once converted to JSON
        raise YamlProblem("yaml-syntax", f"unknown tag {tag}", node.start_mark.line + 1,
                          node.start_mark.column + 1, tuple(self.stack))

    def _key(self, key_node: Node) -> str:
        if key_node.__class__ is ScalarNode:
            if key_node.tag == _STR:
                return key_node.value  # type: ignore[no-any-return]
            raw = self._scalar(key_node)
        else:
            raw = self.build(key_node)
        return _json_key(raw, key_node)

    def _mapping(self, node: MappingNode) -> dict[str, Any]:
        out: dict[str, Any] = {}
        merges: list[Node] = []
        stack = self.stack
        for at, (key_node, value_node) in enumerate(node.value):
            if _is_merge(key_node):
                merges.append(value_node)
                continue
            alias = key_node.__class__ is not ScalarNode and id(key_node) in self.built
            try:
                key = self._key(key_node)
            except YamlProblem as p:  # an alias as a key has its anchor's node: say where the alias is
                if alias:
                    p.line, p.column = value_node.start_mark.line + 1, value_node.start_mark.column + 1
                raise
            if key in out:  # recorded; the last one wins, as in go-yaml
                self._duplicate(node, at, key)
            stack.append(key)
            out[key] = self.build(value_node)
            stack.pop()
        if merges:  # YAML 1.1 merge keys: explicit keys win (go-yaml v2 does the same)
            base: dict[str, Any] = {}
            for m in merges:
                for sub in m.value if isinstance(m, SequenceNode) else [m]:
                    merged = self.build(sub)
                    if not isinstance(merged, dict):
                        self._fail("yaml-syntax", "map merge requires map or sequence of maps", sub)
                    for k, v in merged.items():
                        base.setdefault(k, v)
            base.update(out)
            out = base
        return out

    def _duplicate(self, node: MappingNode, at: int, key: str) -> None:
        """The key at `node.value[at]` was set before: by an earlier key node, which may be the very
        same node (`*a : 2` after `&a k: 1`: an alias used as a key shares its anchor's node)."""
        key_node, value_node = node.value[at]
        first = next((kn for kn, _ in node.value[:at] if not _is_merge(kn) and self._key(kn) == key), key_node)
        # libyaml gives an alias no node (nor position) of its own: the value locates a repeated key node
        mark = value_node.start_mark if first is key_node else key_node.start_mark
        pos = Position(mark.line + 1, mark.column + 1)
        self.duplicates.append(((*self.stack, key), pos, first.start_mark.line + 1))


def _is_merge(key_node: Node) -> bool:
    return key_node.tag == _MERGE or (key_node.tag == _PLAIN and key_node.value == "<<")


class NodePositions(Mapping[tuple[str | int, ...], Position]):
    """Positions of a document's values, found by walking its node tree on demand.

    A mapping entry's position is its key's; a list item's is the item's. Only findings ask for
    positions, so this costs nothing on valid documents (measured: 5-8 µs a walk).
    """

    def __init__(self, root: Node) -> None:
        self.root = root

    def _node(self, path: tuple[str | int, ...]) -> Node | None:
        node, at = self.root, self.root
        for part in path:
            if isinstance(node, MappingNode) and isinstance(part, str):
                for kn, vn in node.value:
                    if kn.__class__ is ScalarNode and (kn.value == part or _Builder()._key(kn) == part):
                        node, at = vn, kn
                        break
                else:
                    return None
            elif isinstance(node, SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
                node = at = node.value[part]
            else:
                return None
        return at

    def __getitem__(self, path: tuple[str | int, ...]) -> Position:
        at = self._node(path)
        if at is None:
            raise KeyError(path)
        return Position(at.start_mark.line + 1, at.start_mark.column + 1)

    def __iter__(self) -> Iterator[tuple[str | int, ...]]:
        def walk(node: Node, path: tuple[str | int, ...]) -> Iterator[tuple[str | int, ...]]:
            yield path
            if isinstance(node, MappingNode):
                for kn, vn in node.value:
                    if kn.__class__ is ScalarNode:
                        yield from walk(vn, (*path, _Builder()._key(kn)))
            elif isinstance(node, SequenceNode):
                for i, item in enumerate(node.value):
                    yield from walk(item, (*path, i))

        return walk(self.root, ())

    def __len__(self) -> int:
        return sum(1 for _ in self)


_PLAIN = "kvalidate:plain"  # an untagged plain scalar: typed later by go-yaml v2's rules
_MAP, _SEQ = "tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"


class _Composer(CParser):
    """libyaml parser and composer. Implicit tags are not resolved with PyYAML's YAML 1.1 table:
    plain scalars are marked and typed by `_plain_scalar` (go-yaml v2's table), quoted ones are
    strings, explicit tags are kept."""

    def resolve(self, kind: type, value: str, implicit: tuple[bool, bool]) -> str:
        if kind is ScalarNode:
            return _PLAIN if implicit[0] else _STR
        return _MAP if kind is MappingNode else _SEQ

    def descend_resolver(self, current_node: object, current_index: object) -> None:
        return None

    def ascend_resolver(self) -> None:
        return None


@dataclass(frozen=True, slots=True)
class Parsed:
    documents: list[Document]
    findings: list[Finding]


def _finding(source: Source, rule: str, message: str, line: int, column: int, index: int,
             path: tuple[str | int, ...] = ()) -> Finding:
    return Finding(Severity.ERROR, rule, message, path=field_path(path), file=source.file, line=line,
                   column=column, document=index, template=source.template, host=source.host,
                   cell=source.cell, ref=source.ref, dest=source.dest)


_LIBYAML_DEPTH = "exceeded maximum nesting depth"  # libyaml 0.2.6 (PyYAML 6.0.4 wheels)
_BRACKETS = re.compile(r"[\[\]{}]")
# Block nesting deeper than MAX_DEPTH needs a line whose indentation (spaces, then `- `, `? `, `: `
# indicators) reaches MAX_DEPTH // 2 columns: each column holds at most two open block collections
# (a mapping and the sequence that is its value, at the same indentation). Lines like that are rare,
# so this regex (searched from a literal newline: fast) is all most documents pay; the exact count
# runs only when it finds one.
_WIDE_INDENT = re.compile(r"[ \t?:-]{" + str(MAX_DEPTH // 2) + "}")
_WIDE_INDENT_NEXT = re.compile(r"\n[ \t?:-]{" + str(MAX_DEPTH // 2) + "}")


def _too_deep(text: str) -> int:
    """Line of a nesting deeper than MAX_DEPTH, or 0, found without parsing.

    libyaml's composer recurses in C: a document of 100,000 `[` crashes the interpreter instead of
    raising, and libyaml 0.2.6 (in PyYAML 6.0.4 wheels) refuses more than 1,000 flow or block
    levels with a syntax error of its own. Flow brackets and block nesting (indentation and
    `- `/`? `/`: ` indicators) are counted here first, so a deep document is a yaml-limits finding
    whatever libyaml's limit is. Brackets inside quoted strings only make this stricter, never let a
    deep one through.
    """
    depth = 0
    for m in _BRACKETS.finditer(text):
        depth = depth + 1 if m.group() in "[{" else max(depth - 1, 0)
        if depth > MAX_DEPTH:
            return text.count("\n", 0, m.start()) + 1
    if _WIDE_INDENT.match(text) is None and _WIDE_INDENT_NEXT.search(text) is None:
        return 0
    return _block_too_deep(text)


def _block_too_deep(text: str) -> int:
    """Line where the block collections open around it may exceed MAX_DEPTH, or 0.

    An indentation stack as libyaml's scanner keeps it (a line closes every column deeper than its
    own), counting a column twice when a `- ` sequence sits at the column of the mapping that holds
    it. Text lines of block scalars count as levels too, so the count is an upper bound; it is exact
    enough that real documents (CRD schemas, < 80 levels) stay far below the limit. A line of a
    multi-line flow collection left of the block it sits in lowers the count (libyaml ignores
    indentation inside flow); libyaml's own nesting error is then reported as yaml-limits too."""
    columns: list[int] = []  # columns of the open block collections, increasing
    levels: list[int] = []  # open collections per column: 1, or 2 (a mapping and its sequence)
    total = 0
    for number, line in enumerate(text.split("\n"), 1):
        rest = line.lstrip(" ")
        if not rest or rest[0] == "#" or rest.isspace():
            continue
        col = len(line) - len(rest)
        while columns and columns[-1] > col:
            columns.pop()
            total -= levels.pop()
        dash = _indicator(line, col) and line[col] == "-"
        if columns and columns[-1] == col:
            if dash and levels[-1] == 1:
                levels[-1] = 2
                total += 1
        else:
            columns.append(col)
            levels.append(1)
            total += 1
        while _indicator(line, col):  # `- - x`, `- a: 1`, `? - x`: one more collection per indicator
            col += 1
            while col < len(line) and line[col] in " \t":
                col += 1
            if col == len(line) or line[col] == "#":
                break
            columns.append(col)
            levels.append(1)
            total += 1
            if total > MAX_DEPTH:
                return number
        if total > MAX_DEPTH:
            return number
    return 0


def _indicator(line: str, col: int) -> bool:
    """`-`, `?` or `:` at `col` followed by a space, a tab or the end of the line."""
    return line[col:col + 1] in ("-", "?", ":") and line[col + 1:col + 2] in ("", " ", "\t", "\r")


_YAML_BREAKS = re.compile("\r\n|[\r\n\x85\u2028\u2029]")
_SURROGATE = re.compile("[\ud800-\udfff]")


@dataclass(frozen=True, slots=True)
class _BadUnicode:
    """Where a text cannot be UTF-8: lone surrogates, which is how invalid bytes arrive (decoded with
    `surrogateescape`: byte 0xff is U+DCFF) or what a template wrote (`"\\ud800"`)."""

    line: int
    column: int
    message: str
    lines: frozenset[int]  # every line (1-based) holding one


def _bad_unicode(text: str) -> _BadUnicode | None:
    if text.isascii():
        return None
    try:
        text.encode("utf-8")
        return None
    except UnicodeEncodeError as e:
        first = e.start
    char = ord(text[first])
    line = text.count("\n", 0, first) + 1
    column = first - text.rfind("\n", 0, first)
    if 0xDC80 <= char <= 0xDCFF:
        what = f"invalid UTF-8: byte 0x{char - 0xDC00:02x} is not part of a UTF-8 character"
    else:
        what = f"invalid Unicode: lone surrogate U+{char:04X} cannot be written as UTF-8"
    positions = [m.start() for m in _SURROGATE.finditer(text)]
    more = f" ({len(positions)} such characters in the input)" if len(positions) > 1 else ""
    lines = frozenset(text.count("\n", 0, at) + 1 for at in positions[:10_000])
    return _BadUnicode(line, column, f"{what}; go-yaml (the API server's YAML decoder) refuses the document"
                                     f"{more}", lines | {line})


def parse_text(text: str | bytes, source: Source) -> Parsed:
    """Parse a multi-document YAML (or JSON) text. Problems are findings; parsing goes on after
    a bad document where the YAML stream allows it (a syntax error ends the stream).

    Bytes are decoded as UTF-8; invalid bytes (and lone surrogates in a text) are a yaml-syntax
    finding at the first one, as go-yaml refuses them. The document holding them is dropped (go-yaml
    refuses it whole); the others are parsed and validated (kubectl and kubeadm split a stream into
    documents before decoding each)."""
    docs: list[Document] = []
    findings: list[Finding] = []
    if type(text) is not str:  # libyaml takes exact str only (not Markup or other str subclasses)
        text = text.decode("utf-8", errors="surrogateescape") if isinstance(text, bytes) else str(text)
    size = len(text)
    if MAX_BYTES // 4 < size <= MAX_BYTES and not text.isascii():
        size = len(text.encode("utf-8", "surrogatepass"))
    if size > MAX_BYTES:
        findings.append(_finding(source, "yaml-limits",
                                 f"input is more than {MAX_BYTES} bytes, the most kvalidate reads", 1, 1, 0))
        return Parsed(docs, findings)
    bad = _bad_unicode(text)
    bad_doc: int | None = None  # the first document dropped for it
    if bad is not None:
        text = _SURROGATE.sub("\ufffd", text)
    deep = _too_deep(text)
    if deep:
        findings.append(_finding(source, "yaml-limits", f"document nested deeper than {MAX_DEPTH} levels",
                                 deep, 1, 0))
        if bad is not None:
            findings.insert(0, _finding(source, "yaml-syntax", bad.message, bad.line, bad.column, 0))
        return Parsed(docs, findings)
    parser = _Composer(text)
    index = 0
    try:
        while parser.check_node():
            root = parser.get_node()
            if root is None:
                continue
            if bad is not None and any(root.start_mark.line < n <= root.end_mark.line + 1 for n in bad.lines):
                bad_doc = index if bad_doc is None else bad_doc
                index += 1
                continue
            try:
                b = _Builder()
                data = b.build(root)
            except YamlProblem as p:
                findings.append(_finding(source, p.rule, p.message, p.line, p.column, index, p.path))
                index += 1
                continue
            except RecursionError:
                findings.append(_finding(source, "yaml-limits", "document nested too deeply",
                                         root.start_mark.line + 1, 1, index))
                index += 1
                continue
            except Exception as e:  # a bug of the builder's: this document only, the others go on
                findings.append(_finding(source, "internal-error", internal_message(e, "reading this document"),
                                         root.start_mark.line + 1, root.start_mark.column + 1, index))
                index += 1
                continue
            if data is not None:
                docs.append(Document(data, index, NodePositions(root), source, b.duplicates))
            index += 1
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        breaks = _YAML_BREAKS.split(text)  # lines as libyaml counts them (a lone CR is a break)
        if line > len(breaks):  # libyaml's end of a stream without a final newline is a line further
            line, col = len(breaks), len(breaks[-1]) + 1
        msg = " ".join(x for x in (e.context, e.problem) if x)
        if e.problem == _LIBYAML_DEPTH:  # a nesting _too_deep could not see (indentation inside flow)
            findings.append(_finding(source, "yaml-limits", f"document nested too deeply ({msg})", line, col, index))
        else:
            findings.append(_finding(source, "yaml-syntax", f"invalid YAML: {msg}", line, col, index))
    except (yaml.YAMLError, RecursionError) as e:
        findings.append(_finding(source, "yaml-syntax", f"invalid YAML: {e}", 1, 1, index))
    except Exception as e:  # a bug of kvalidate's (or of the parser's): what was read so far is kept
        findings.append(_finding(source, "internal-error", internal_message(e, "parsing this input"), 1, 1, index))
    finally:
        parser.dispose()
    if bad is not None:
        findings.insert(0, _finding(source, "yaml-syntax", bad.message, bad.line, bad.column, bad_doc or 0))
    return Parsed(docs, findings)


def expand_lists(data: Any) -> Iterator[tuple[Any, tuple[str | int, ...]]]:
    """`kind: List` documents are validated item by item: yields (object, path prefix)."""
    if (isinstance(data, dict) and data.get("kind") == "List" and data.get("apiVersion") == "v1"
            and isinstance(data.get("items"), list)):
        for i, item in enumerate(data["items"]):
            yield item, ("items", i)
    else:
        yield data, ()


SUFFIXES = (".yaml", ".yml", ".json")


def iter_inputs(paths: list[str]) -> Iterator[tuple[str, str]]:
    """(label, text) for every input: files, directories (recursively: *.yaml, *.yml, *.json),
    or `-` for stdin. An unreadable path is a SetupError (exit 2). Files and stdin alike are read up
    to MAX_BYTES + 1 bytes (more is a yaml-limits finding of parse_text) and decoded as UTF-8 with
    invalid bytes kept as lone surrogates, which parse_text reports (yaml-syntax)."""
    for raw in paths:
        if raw == "-":
            yield "<stdin>", _read_stdin()
            continue
        p = Path(raw)
        if p.is_dir():
            files = sorted(f for f in p.rglob("*") if f.is_file() and f.suffix in SUFFIXES)
            if not files:
                raise SetupError(_nothing_in(raw, p))
            for f in files:
                yield str(f), _read(f)
        elif p.is_file():
            yield str(p), _read(p)
        else:
            raise SetupError(f"cannot read {raw}: no such file or directory")


def _nothing_in(raw: str, directory: Path) -> str:
    """Why a directory given as input is refused: nothing in it would be read (what it holds instead)."""
    suffixes: dict[str, int] = {}
    for f in directory.rglob("*"):
        if f.is_file():
            key = "".join(f.suffixes[-2:]) if f.suffix == ".j2" else f.suffix or f.name
            suffixes[key] = suffixes.get(key, 0) + 1
    held = ", ".join(f"{n} *{s}" if s.startswith(".") else f"{n} {s}"
                     for s, n in sorted(suffixes.items(), key=lambda kv: (-kv[1], kv[0]))[:4])
    hint = ""
    if any(s.endswith(".j2") for s in suffixes):
        hint = "; templates are rendered by `kvalidate check CHECKOUT` (or `kvalidate render TEMPLATE`), not read"
    return (f"nothing to validate in {raw}: no {', '.join('*' + s for s in SUFFIXES)} file in it"
            f"{f' (it holds {held})' if held else ' (it is empty)'}{hint}")


def _decode(data: bytes) -> str:
    return data.decode("utf-8", errors="surrogateescape")


def _read_stdin() -> str:
    """At most MAX_BYTES + 1 bytes of stdin (`validate - < /dev/zero` ends as a finding, not 2 GB)."""
    stream = getattr(sys.stdin, "buffer", None)
    try:
        if stream is None:  # a text-only stdin (an embedding program's StringIO)
            return sys.stdin.read(MAX_BYTES + 1)
        return _decode(stream.read(MAX_BYTES + 1))
    except OSError as e:
        raise SetupError(f"cannot read stdin: {e.strerror or e}") from e


def _read(p: Path) -> str:
    try:
        with p.open("rb") as fh:
            data = fh.read(MAX_BYTES + 1)
    except OSError as e:
        raise SetupError(f"cannot read {p}: {e.strerror or e}") from e
    return _decode(data)  # over MAX_BYTES: parse_text turns the length into a finding
