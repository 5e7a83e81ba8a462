"""A small reader of gofmt'd Go type declarations, enough for Kubernetes config API packages.

It reads top-level `type` declarations (structs, named types, `type (...)` groups), the import
aliases of each file, and which types have a custom `UnmarshalJSON`. It is not a Go parser: the
packages it reads are generated-style, gofmt'd API types, and anything it cannot place is reported
by the generator rather than guessed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_BLOCK_COMMENT = re.compile(r"^[ \t]*/\*.*?\*/", re.S | re.M)  # only at line start: `/*` also occurs inside // comments
_IMPORT_ONE = re.compile(r'^import\s+(?:(\w+|\.|_)\s+)?"([^"]+)"', re.M)
_IMPORT_BLOCK = re.compile(r"^import\s*\((.*?)^\)", re.M | re.S)
_IMPORT_LINE = re.compile(r'^\s*(?:(\w+|\.|_)\s+)?"([^"]+)"')
_TYPE_START = re.compile(r"^type\s+(\w+)(?:\[[^\]]*\])?\s+(.*)$")
_UNMARSHAL = re.compile(r"^func\s+\(\s*\w+\s+\*?(\w+)\s*\)\s+UnmarshalJSON\(", re.M)
_FIELD = re.compile(r"^(?P<names>\w+(?:\s*,\s*\w+)*)?\s*(?P<type>[^`]+?)?\s*(?:`(?P<tag>[^`]*)`)?\s*$")


@dataclass(frozen=True)
class Field:
    name: str  # Go field name; "" for an embedded field
    type: str  # Go type expression, e.g. "*metav1.Duration", "[]Arg", "map[string]bool"
    tag: str  # the raw struct tag

    @property
    def json(self) -> tuple[str | None, set[str]]:
        """(key or None when the tag has none, options). Key "-" means never decoded."""
        m = re.search(r'json:"([^"]*)"', self.tag)
        if not m:
            return None, set()
        parts = m.group(1).split(",")
        return parts[0], set(parts[1:])


@dataclass
class TypeDecl:
    name: str
    file: str
    underlying: str = ""  # for non-struct types
    fields: list[Field] = field(default_factory=list)
    is_struct: bool = False


@dataclass
class Package:
    import_path: str
    types: dict[str, TypeDecl] = field(default_factory=dict)
    imports: dict[str, dict[str, str]] = field(default_factory=dict)  # file -> alias -> path
    unmarshalers: set[str] = field(default_factory=set)
    files: dict[str, bytes] = field(default_factory=dict)  # file -> raw bytes (for sha256)


def _strip_comments(text: str) -> str:
    text = _BLOCK_COMMENT.sub("", text)
    out = []
    for line in text.splitlines():
        if line.lstrip().startswith("//"):
            out.append("")
            continue
        # a trailing comment: the first `//` outside a backquoted struct tag
        cut, inq = len(line), False
        for i, ch in enumerate(line):
            if ch == "`":
                inq = not inq
            elif not inq and line.startswith("//", i):
                cut = i
                break
        out.append(line[:cut].rstrip())
    return "\n".join(out)


def _imports(text: str) -> dict[str, str]:
    found: dict[str, str] = {}
    pairs = [(m.group(1), m.group(2)) for m in _IMPORT_ONE.finditer(text)]
    for block in _IMPORT_BLOCK.finditer(text):
        for line in block.group(1).splitlines():
            m = _IMPORT_LINE.match(line)
            if m:
                pairs.append((m.group(1), m.group(2)))
    for alias, path in pairs:
        found[alias or path.rstrip("/").split("/")[-1]] = path
    return found


def _parse_fields(body: list[str]) -> list[Field]:
    fields: list[Field] = []
    depth = 0
    for raw in body:
        line = raw.strip()
        if not line:
            continue
        if depth:  # inside an anonymous nested struct: not used by these packages
            depth += line.count("{") - line.count("}")
            continue
        if line.endswith("{") and "struct" in line:
            raise ValueError(f"anonymous struct field not supported: {line!r}")
        m = _FIELD.match(line)
        if not m:
            raise ValueError(f"cannot read field: {line!r}")
        names, typ, tag = m.group("names"), m.group("type"), m.group("tag") or ""
        if typ is None or not typ.strip():
            # embedded field written as a single identifier (`ImageMeta`), or `pkg.Type`
            fields.append(Field("", (names or "").strip(), tag))
            continue
        typ = typ.strip()
        if names and re.fullmatch(r"[\w.*]+", typ) and "." in names:
            fields.append(Field("", names + typ, tag))
            continue
        for n in (names or "").split(","):
            fields.append(Field(n.strip(), typ, tag))
    return fields


def _embedded_fix(fields: list[Field]) -> list[Field]:
    """`metav1.TypeMeta `json:",inline"`` parses as names='metav1', type='.TypeMeta'."""
    out = []
    for f in fields:
        if f.type.startswith("."):
            out.append(Field("", f.name + f.type, f.tag))
        else:
            out.append(f)
    return out


def parse_file(pkg: Package, filename: str, raw: bytes) -> None:
    text = raw.decode("utf-8")
    pkg.files[filename] = raw
    pkg.imports[filename] = _imports(text)
    pkg.unmarshalers.update(_UNMARSHAL.findall(text))
    lines = _strip_comments(text).splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("type ("):
            i += 1
            while i < len(lines) and lines[i] != ")":
                i = _parse_decl(pkg, filename, lines, i, "type " + lines[i].strip())
            i += 1
            continue
        if line.startswith("type "):
            i = _parse_decl(pkg, filename, lines, i, line)
            continue
        i += 1


def _parse_decl(pkg: Package, filename: str, lines: list[str], i: int, head: str) -> int:
    m = _TYPE_START.match(head)
    if not m:
        return i + 1
    name, rest = m.group(1), m.group(2).strip()
    if rest.startswith("struct"):
        decl = TypeDecl(name, filename, is_struct=True)
        if rest.endswith("{}"):
            pkg.types[name] = decl
            return i + 1
        body, depth, j = [], 1, i + 1
        while j < len(lines):
            depth += lines[j].count("{") - lines[j].count("}")
            if depth <= 0:
                break
            body.append(lines[j])
            j += 1
        decl.fields = _embedded_fix(_parse_fields(body))
        pkg.types[name] = decl
        return j + 1
    if rest.startswith("interface"):
        pkg.types[name] = TypeDecl(name, filename, underlying="interface{}")
        j = i
        while not lines[j].rstrip().endswith(("}", "{}")):
            j += 1
        return j + 1
    pkg.types[name] = TypeDecl(name, filename, underlying=rest.removeprefix("= ").strip())
    return i + 1
