"""Which template line wrote each line of a rendered text, recorded while Jinja renders it.

Jinja compiles a template into Python whose root function yields the output in chunks: literal
template text (`yield 'text'`) and the value of each `{{ }}` expression; `debug_info` pairs
Python lines with template lines. Two parts make that an exact map (`model.LineMap`):

- At compile time, `LineCodeGenerator` (the base of the environment's code generator) gives every
  yield of literal text a `debug_info` entry of its own (Jinja gives none: such a yield inherits
  the line of the statement before it, the `{% for %}` of a loop body), and writes a module global,
  `kv_lines`, naming the Python lines that yield literal text and those that pass on an
  `{% include %}`'s output. Nothing else of the generated code changes.
- While rendering, `Trace` iterates the root generator and, after each chunk, reads where the
  generator stopped (the innermost generator through `yield from`: `{% extends %}` parents and
  `{% block %}`s; through an include's local `gen`): its code object and instruction offset, mapped
  once per yield site to (template file, template line, literal or not). `line_map` then walks the
  chunks: a literal chunk's lines are consecutive template lines from its first; every line of an
  expression's value (`to_nice_yaml`, a macro call, a `{% set %}` block printed with `{{ }}`, a
  `{% filter %}` block) is the expression's (or the statement's) line.

A rendered line's template line is that of the chunk that wrote its first character. Lines an
included or extended template wrote name that template's file (`LineMap.files`); macros (imported
or not) return their text to the call, so their lines are the call's. An include `without context`
replays a pre-rendered module: its lines are the `{% include %}` line. A `#jinja2:` header line,
which Ansible strips before compiling, is added back (`kv_line_offset` of the template).

The cost is one `Trace.__next__` per chunk: two attribute reads and a dict hit per yield site.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from types import CodeType, FrameType, GeneratorType
from typing import Any

from jinja2 import nodes
from jinja2.compiler import Frame
from jinja2.nativetypes import NativeCodeGenerator

from kvalidate.model import LineMap

# What a yield site yields: literal template text, an expression's value, an include's output.
LITERAL, EXPRESSION, INCLUDE = 0, 1, 2
_KIND_CODES = {"t": LITERAL, "i": INCLUDE}
GLOBAL = "kv_lines"  # the module global the generator writes (codecache allows the name)


class LineCodeGenerator(NativeCodeGenerator):
    """Jinja's native code generator, with a `debug_info` entry for every yield of literal text and
    the `kv_lines` global (see the module docstring)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._kv_consts: list[nodes.Node] = []  # constant children of the Output being written, in order
        self._kv_kinds: dict[int, str] = {}  # Python line -> "t" (literal) or "i" (include)

    def visit_Template(self, node: nodes.Template, frame: Frame | None = None) -> None:
        super().visit_Template(node, frame)
        kinds = "&".join(f"{line}{kind}" for line, kind in sorted(self._kv_kinds.items()))
        self.writeline(f"{GLOBAL} = {kinds!r}")

    def visit_Output(self, node: nodes.Output, frame: Frame) -> None:
        saved, self._kv_consts = self._kv_consts, []
        try:
            super().visit_Output(node, frame)
        finally:
            self._kv_consts = saved

    def _output_child_to_const(self, node: nodes.Expr, frame: Frame, finalize: Any) -> Any:
        const = super()._output_child_to_const(node, frame, finalize)
        self._kv_consts.append(node)  # only once it is known to be constant
        return const

    def _output_const_repr(self, group: Any) -> str:
        # called once per group of consecutive constant children, in order, just before the line
        # that yields (or buffers) the group is written: that line gets the group's first line.
        # A group of several children (text around a comment or a raw block, a constant `{{ }}`)
        # also records where each child starts in the joined text, and its line: the lines between
        # them (a comment's, a trimmed tag's) wrote nothing.
        group = list(group)
        children = self._kv_consts[:len(group)]
        del self._kv_consts[:len(group)]
        self.newline(children[0])
        kind = "t"
        if len(children) > 1 or not isinstance(children[0], nodes.TemplateData):
            parts, offset = [], 0
            for child, value in zip(children, group, strict=True):
                literal = isinstance(child, nodes.TemplateData)
                parts.append(f"{offset}:{'' if literal else '-'}{child.lineno}")
                offset += len(str(value))
            kind += ",".join(parts)
        self._kv_kinds[self.code_lineno + self._new_lines] = kind
        return str(super()._output_const_repr(group))

    def visit_Include(self, node: nodes.Include, frame: Frame) -> None:
        start = self.code_lineno
        super().visit_Include(node, frame)
        for line in range(start + 1, self.code_lineno + 1):
            self._kv_kinds.setdefault(line, "i")


# Pieces of a constant chunk that joins several children: (offset in the chunk, template line,
# literal or not); None for a chunk of one piece.
Segments = tuple[tuple[int, int, bool], ...] | None
Where = tuple[str, int, int, Segments]  # (template file, template line, kind, segments)
_NOWHERE: Where = ("", 0, EXPRESSION, None)
# Per code object (by id, the object kept so the id cannot be reused): instruction offset of a
# yield -> where. Bounded by the yield sites of the templates a process renders.
_SITES: dict[int, tuple[CodeType, dict[int, Where]]] = {}
_ENTRY = re.compile(r"(\d+)([ti])(.*)")


def _kinds(template: Any) -> dict[int, tuple[int, Segments]]:
    """Python line -> (kind, segments) of the yields `kv_lines` names (others yield expressions)."""
    kinds: dict[int, tuple[int, Segments]] | None = getattr(template, "kv_kinds", None)
    if kinds is None:
        kinds = {}
        offset = int(getattr(template, "kv_line_offset", 0))
        globals_ = getattr(template.root_render_func, "__globals__", {})
        for item in str(globals_.get(GLOBAL) or "").split("&"):
            m = _ENTRY.fullmatch(item)
            if m is None:
                continue
            segments: Segments = None
            if m.group(3):
                segments = tuple((int(off), abs(int(line)) + offset, not line.startswith("-"))
                                 for off, line in (p.split(":") for p in m.group(3).split(",")))
            kinds[int(m.group(1))] = (_KIND_CODES[m.group(2)], segments)
        template.kv_kinds = kinds
    return kinds


def _python_line(code: CodeType, offset: int) -> int:
    for start, end, line in code.co_lines():
        if start <= offset < end and line is not None:
            return line
    return 0


def site(template: Any, code: CodeType, offset: int) -> Where:
    """Where the yield at instruction `offset` of `code` (compiled from `template`) is."""
    entry = _SITES.get(id(code))
    if entry is None or entry[0] is not code:
        entry = _SITES[id(code)] = (code, {})
    w = entry[1].get(offset)
    if w is None:
        if template is None:
            w = _NOWHERE
        else:
            line = _python_line(code, offset)
            kind, segments = _kinds(template).get(line, (EXPRESSION, None))
            tline = int(template.get_corresponding_lineno(line)) + int(getattr(template, "kv_line_offset", 0))
            w = (str(template.filename or template.name or ""), tline, kind, segments)
        entry[1][offset] = w
    return w


def _where(frame: FrameType) -> Where:
    return site(frame.f_globals.get("__jinja_template__"), frame.f_code, frame.f_lasti)


def _include_offsets(template: Any, code: CodeType) -> frozenset[int]:
    """Instruction offsets of `code` (the root function of `template`) on the lines that pass on an
    include's output (computed once per template)."""
    offsets: frozenset[int] | None = getattr(template, "kv_include_offsets", None)
    if offsets is None:
        lines = {line for line, (kind, _) in _kinds(template).items() if kind == INCLUDE}
        offsets = frozenset(i for start, end, line in code.co_lines() if line in lines for i in range(start, end, 2))
        template.kv_include_offsets = offsets
    return offsets


def _innermost(gen: Any) -> Where:
    """Where the chunk `gen` just yielded was produced: through `yield from` (extends, blocks) and
    includes (their generator is the local `gen` of the frame that passes their output on)."""
    while True:
        sub = gen.gi_yieldfrom
        while sub is not None and type(sub) is GeneratorType:
            gen, sub = sub, sub.gi_yieldfrom
        frame: FrameType | None = gen.gi_frame
        if frame is None:
            return _NOWHERE
        w = _where(frame)
        inner = frame.f_locals.get("gen") if w[2] == INCLUDE else None
        if type(inner) is not GeneratorType or inner.gi_frame is None:
            return w
        gen = inner


class Trace(Iterator[Any]):
    """Where each chunk of a root render generator was yielded. For the common chunk (yielded by
    the root function itself) only its instruction offset is recorded, resolved to a template line
    when the map is first read. Iterating a Trace records; `environment.text_concat_traced` records
    the same inline while it joins. `throw` passes an error into the generator (a size limit
    names the template line that went over)."""

    __slots__ = ("gen", "frame", "template", "includes", "sites", "chunks")

    def __init__(self, template: Any, gen: Any) -> None:
        self.gen = gen
        self.frame: FrameType = gen.gi_frame
        self.template = template
        self.includes = _include_offsets(template, self.frame.f_code)
        self.sites: list[int | Where] = []  # per chunk: an offset of the root code, or where
        self.chunks: list[Any] = []

    def inner(self) -> Where:
        """Where the chunk just yielded came from, when not from the root function's own yield."""
        return _innermost(self.gen)

    def __iter__(self) -> Trace:
        return self

    def __next__(self) -> Any:
        chunk = next(self.gen)
        if self.gen.gi_yieldfrom is None and (lasti := self.frame.f_lasti) not in self.includes:
            self.sites.append(lasti)
        else:
            self.sites.append(self.inner())
        self.chunks.append(chunk)
        return chunk

    def throw(self, exc: BaseException) -> Any:
        return self.gen.throw(exc)

    def line_map(self, text: str, source_lines: int) -> LineMap:
        """The map of `text` (what the traced render produced, after Ansible restored the
        template's trailing newlines), built when first read."""
        return LineMap(build=lambda: _build(self, text, source_lines))


def _build(trace: Trace, text: str, source_lines: int) -> tuple[tuple[int, ...], tuple[str, ...]]:
    """Walk the chunks: lines of the rendered template and of the templates it included. Lines past
    what the chunks cover (restored trailing newlines) are the template's last `source_lines`."""
    lines: list[int] = []
    files: list[str] = []
    at_start = True

    def add(s: str, line: int, literal: bool, name: str) -> None:
        nonlocal at_start
        if at_start:
            lines.append(line)
            files.append(name)
        n = s.count("\n")
        if not n:
            at_start = False
            return
        if literal:
            lines.extend(range(line + 1, line + n + 1))
        else:
            lines.extend([line] * n)
        files.extend([name] * n)
        at_start = s[-1] == "\n"
        if at_start:  # the line after the last newline starts in a later chunk
            lines.pop()
            files.pop()

    template, code = trace.template, trace.frame.f_code
    own = str(template.filename or template.name or "")
    for chunk, where in zip(trace.chunks, trace.sites, strict=True):
        s = chunk if type(chunk) is str else str(chunk)
        if not s:
            continue
        file, line, kind, segments = site(template, code, where) if isinstance(where, int) else where
        name = "" if file == own else file
        if segments is None:
            add(s, line, kind == LITERAL, name)
            continue
        for i, (start, seg_line, literal) in enumerate(segments):
            end = segments[i + 1][0] if i + 1 < len(segments) else len(s)
            if end > start:
                add(s[start:end], seg_line, literal, name)
    total = text.count("\n") + (1 if text and not text.endswith("\n") else 0)
    if len(lines) > total:
        del lines[total:], files[total:]
    missing = total - len(lines)
    if missing > 0:
        lines.extend(max(source_lines - missing + 1 + i, 0) for i in range(missing))
        files.extend([""] * missing)
    return tuple(lines), tuple(files) if any(files) else ()
