"""Templating as ansible-core 2.18's `Templar` does it, over kvalidate's lazy variable scopes.

- `Templar.template(value, scope)`: what Ansible does to a variable or a task argument: strings
  with a Jinja marker are rendered with `convert_data=True` (a result that looks like a list,
  dict or bool becomes one), lists and dicts recursively, anything else is returned as is; a
  bare `{{ name }}` whose raw value is a bool or number returns it unchanged (`SINGLE_VAR`).
- `Templar.render_file(text, scope, name)`: what the `template` module writes
  (`convert_data=False`, no backslash escaping, trailing newlines kept).
- `Templar.render_lookup(text, scope, name)`: `lookup('template')` (`convert_data=True`).
- `render_file_mapped` / `render_lookup_mapped`: the same, with the `LineMap` of the output
  (which template line wrote each output line, recorded while rendering: `linemap`).
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterator, Mapping
from typing import Any

from jinja2 import pass_context
from jinja2.environment import Template
from jinja2.exceptions import TemplateNotFound, UndefinedError
from jinja2.loaders import BaseLoader
from jinja2.runtime import Context, Undefined
from jinja2.utils import missing

from kvalidate.ansible.environment import SandboxEnvironment, eval_concat, text_concat, text_concat_traced
from kvalidate.ansible.filters.core import FILTERS
from kvalidate.ansible.filters.tests import TESTS
from kvalidate.ansible.linemap import Trace
from kvalidate.ansible.private import count_newlines_from_end, escape_backslashes
from kvalidate.ansible.reuse import NOT_FAST, PART_MIN_ENTRIES, PURE_LOOKUPS, Store, Unkeyable, value_key
from kvalidate.ansible.variables import (
    MISSING,
    ChainedUndefined,
    Scope,
    UndefinedVariable,
    VarsView,
    is_possibly_template,
    undefined,
)
from kvalidate.model import LineMap

SINGLE_VAR = re.compile(r"^\{\{\s*(\w*)\s*\}\}$")
OMIT_TOKEN = "__omit_place_holder__kvalidate0000000000000000000000000000000"
# now() returns this fixed time, so renderings are reproducible.
FIXED_NOW = datetime.datetime(2025, 1, 1, 0, 0, 0)
DEADLINE_S = 10.0


class RenderVars(Mapping[str, Any]):
    """What one rendering sees: its locals, then the scope (templated lazily), then globals."""

    __slots__ = ("locals", "scope", "globals", "vars_view", "copying")

    def __init__(self, scope: Scope | None, locals: Mapping[str, Any] | None,
                 globals: Mapping[str, Any], copying: bool = False) -> None:
        self.locals = dict(locals or ())
        self.scope = scope
        self.globals = globals
        self.vars_view: VarsView | None = None
        # a template that may mutate containers sees copies (Ansible templates, and so copies, a
        # variable's containers at every access; the variable cache must stay as it was)
        self.copying = copying

    def lookup(self, key: str) -> Any:
        if key in self.locals:
            return _thaw(self.locals[key]) if self.copying else self.locals[key]
        if self.scope is not None:
            if key == "vars":
                if self.vars_view is None:
                    self.vars_view = VarsView(self.scope)
                return ThawingView(self.vars_view) if self.copying else self.vars_view
            value = self.scope.get_value(key)
            if value is not MISSING:
                return _thaw(value) if self.copying else value
        return self.globals.get(key, missing)

    def add_locals(self, more: Mapping[str, Any] | None) -> RenderVars:
        if not more:
            return self
        out = RenderVars(self.scope, {**self.locals, **{k: v for k, v in more.items() if v is not missing}},
                         self.globals, self.copying)
        out.vars_view = self.vars_view
        return out

    def copies(self) -> RenderVars:
        out = RenderVars(self.scope, self.locals, self.globals, copying=True)
        out.vars_view = self.vars_view
        return out


    def __getitem__(self, key: str) -> Any:
        value = self.lookup(key)
        if value is missing:
            raise KeyError(key)
        return value

    def __contains__(self, key: object) -> bool:
        return self.lookup(str(key)) is not missing

    def __iter__(self) -> Iterator[str]:
        return iter({**dict.fromkeys(self.scope or ()), **self.locals})

    def __len__(self) -> int:
        return len(self.locals) + len(self.scope or ())


def _thaw(value: Any) -> Any:
    """A copy of the plain containers of `value`, as Templar.template rebuilds them; a view of
    variables (`hostvars`, a host's variables, `vars`) gives copies of what it holds."""
    if isinstance(value, dict):
        return {k: _thaw(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_thaw(v) for v in value]
    if isinstance(value, Mapping) and not isinstance(value, RenderVars | ThawingView):
        return ThawingView(value)
    return value


class ThawingView(Mapping[str, Any]):
    """A view of variables whose values are copies (for templates that mutate containers)."""

    __slots__ = ("inner",)

    def __init__(self, inner: Mapping[str, Any]) -> None:
        self.inner = inner

    def __getitem__(self, key: str) -> Any:
        return _thaw(self.inner[key])

    def __contains__(self, key: object) -> bool:
        return key in self.inner

    def __iter__(self) -> Iterator[str]:
        return iter(self.inner)

    def __len__(self) -> int:
        return len(self.inner)


class LazyContext(Context):
    """Jinja context over `RenderVars`, never copying the (large) variable set."""

    def resolve_or_missing(self, key: str) -> Any:
        if key in self.vars:
            return self.vars[key]
        if isinstance(self.parent, RenderVars):
            return self.parent.lookup(key)
        return self.parent.get(key, missing)

    def get_all(self) -> Any:
        if not self.vars:
            return self.parent
        if isinstance(self.parent, RenderVars):
            return self.parent.add_locals(self.vars)
        return dict(self.parent, **self.vars)


def _new_context(template: Any, vars: Any = None, shared: bool = False, locals: Any = None) -> Context:
    if vars is None:
        vars = dict(template.globals or ())
    if isinstance(vars, RenderVars):
        vars = vars.add_locals(locals)
    else:
        vars = dict(vars, **(locals or {}))
    return LazyContext(template.environment, vars, template.name, template.blocks)


_SHARED: Templar | None = None


class LazyTemplate(Template):
    """ansible-core's AnsibleJ2Template: includes and imports share the lazy variables."""

    new_context = _new_context


class Templar:
    """One per engine: the environment, its compiled-template cache, and the lookup hook."""

    def __init__(self, lookup_handler: Any = None) -> None:
        env = SandboxEnvironment()
        env.undefined = ChainedUndefined
        env.context_class = LazyContext
        env.template_class = LazyTemplate
        env.filters = dict(FILTERS)
        env.tests = dict(TESTS)
        env.globals.update(lookup=self._lookup, query=self._query, q=self._query,
                           now=self._now, undef=self._undef)
        self.env = env
        self.lookup_handler = lookup_handler  # callable(context_vars, name, terms, kwargs, wantlist)
        # evaluations reused across the engines (cells) of this templar (`reuse`)
        self.reuse = Store()
        env.kept = self.reuse.kept
        self._depth = 0
        self.deadline_s = DEADLINE_S

    @classmethod
    def shared(cls) -> Templar:
        """The process-wide templar: templates and variable strings are compiled once per process,
        whatever the number of engines (cells) run in it. Engines use it one at a time."""
        global _SHARED
        if _SHARED is None:
            _SHARED = cls()
        return _SHARED

    # -- globals -------------------------------------------------------------------------------
    @staticmethod
    def _now(utc: bool = False, fmt: str | None = None) -> Any:
        return FIXED_NOW.strftime(fmt) if fmt else FIXED_NOW

    @staticmethod
    def _undef(hint: Any = None) -> Undefined:
        if hint is None or isinstance(hint, Undefined) or hint == "":
            hint = "Mandatory variable has not been overridden"
        return undefined(hint=str(hint))

    @pass_context
    def _lookup(self, context: Context, name: str, /, *args: Any, **kwargs: Any) -> Any:
        wantlist = bool(kwargs.pop("wantlist", False))
        if name.removeprefix("ansible.builtin.") not in PURE_LOOKUPS:
            self.reuse.taint_now()  # files, the engine's state, renderings: never reused
        if self.lookup_handler is None:
            raise LookupError(f"lookup('{name}') is not available here")
        out = self.lookup_handler(context.parent, name, list(args), kwargs, wantlist)
        # lookup('vars') gives cached values: a template that may mutate gets copies
        return _thaw(out) if self.env.render_state["mutable"] else out

    @pass_context
    def _query(self, context: Context, name: str, /, *args: Any, **kwargs: Any) -> Any:
        kwargs["wantlist"] = True
        return self._lookup(context, name, *args, **kwargs)

    # -- templating ----------------------------------------------------------------------------
    def template(self, value: Any, scope: Scope | None, locals: Mapping[str, Any] | None = None) -> Any:
        """Template a variable value or task argument, as Templar.template(convert_data=True).
        A top-level call (a task's arguments, `when`, `loop`...) is an evaluation `reuse` may serve."""
        store = self.reuse
        if (store.enabled and scope is not None and not store.stack and self._depth == 0
                and (isinstance(value, dict | list) or (type(value) is str and is_possibly_template(value)))):
            try:
                key = ("t", value_key(value), value_key(dict(locals)) if locals else None)
            except Unkeyable:
                return self._template(value, scope, locals)
            return store.evaluate(key, scope, lambda: self._template(value, scope, locals), scope.read_again)
        return self._template(value, scope, locals)

    def _template(self, value: Any, scope: Scope | None, locals: Mapping[str, Any] | None = None) -> Any:
        if getattr(value, "__UNSAFE__", False):
            return value
        if isinstance(value, str):
            if not is_possibly_template(value):
                return value
            one = SINGLE_VAR.match(value)
            if one and scope is not None and not locals:
                raw = scope.raw_get(one.group(1))
                fast = isinstance(raw, bool | int | float) or raw is None
                if self.reuse.stack:
                    self.reuse.note(scope, ("r", one.group(1), raw if fast else NOT_FAST))
                if fast:
                    scope.get_value(one.group(1))  # records the dependency
                    return raw
            return self.do_template(value, RenderVars(scope, locals, self.env.globals), convert_data=True)
        if isinstance(value, list | tuple):
            return [self._template(v, scope, locals) for v in value]
        if isinstance(value, dict):
            store = self.reuse
            if store.stack and scope is not None and not locals and len(value) >= PART_MIN_ENTRIES:
                return {k: self._part(v, scope) for k, v in value.items()}
            return {k: self._template(v, scope, locals) for k, v in value.items()}
        return value

    def _part(self, value: Any, scope: Scope) -> Any:
        """An entry of a large dict templated inside an evaluation: reused on its own (`reuse`)."""
        if not isinstance(value, dict | list):
            return self._template(value, scope)
        try:
            key = ("p", value_key(value))
        except Unkeyable:
            return self._template(value, scope)
        return self.reuse.evaluate(key, scope, lambda: self._template(value, scope), scope.read_again, part=True)

    def template_lenient(self, value: Any, scope: Scope | None) -> Any:
        """Templar.template(fail_on_undefined=False): a string whose templating hits an undefined
        name stays as written (how `with_first_found` terms are templated)."""
        if isinstance(value, list | tuple):
            return [self.template_lenient(v, scope) for v in value]
        if isinstance(value, dict):
            return {k: self.template_lenient(v, scope) for k, v in value.items()}
        try:
            return self.template(value, scope)
        except UndefinedError:
            return value

    def render_file(self, text: str, scope: Scope | None, name: str,
                    locals: Mapping[str, Any] | None = None, loader: BaseLoader | None = None) -> str:
        """The text the `template` module writes."""
        return self.render_file_mapped(text, scope, name, locals, loader)[0]

    def render_file_mapped(self, text: str, scope: Scope | None, name: str,
                           locals: Mapping[str, Any] | None = None,
                           loader: BaseLoader | None = None) -> tuple[str, LineMap]:
        """The text the `template` module writes, and which template line wrote each of its lines.
        `loader` serves the template's `{% include %}`s, `{% import %}`s and `{% extends %}`.
        An evaluation `reuse` may serve (what the included templates say is part of what it reads)."""
        store = self.reuse
        if store.enabled and scope is not None and not store.stack and self._depth == 0:
            try:
                key = ("f", text, name, value_key(dict(locals)) if locals else None)
            except Unkeyable:
                key = None
            if key is not None:
                recording = RecordingLoader(loader, store, self.env) if loader is not None else None
                result: tuple[str, LineMap] = store.evaluate(
                    key, scope, lambda: self._render_file(text, scope, name, locals, recording),
                    lambda read: scope.read_again(read, recording))
                return result
        return self._render_file(text, scope, name, locals, loader)

    def _render_file(self, text: str, scope: Scope | None, name: str, locals: Mapping[str, Any] | None,
                     loader: BaseLoader | None) -> tuple[str, LineMap]:
        out, lines = self._render(text, RenderVars(scope, locals, self.env.globals), convert_data=False,
                                  escape_backslashes=False, name=name, loader=loader, trace=True)
        assert lines is not None
        return str(out), lines

    def render_lookup(self, text: str, scope: Scope | None, name: str,
                      locals: Mapping[str, Any] | None = None, loader: BaseLoader | None = None) -> Any:
        """What lookup('template') returns for one file (convert_data=True)."""
        return self.render_lookup_mapped(text, scope, name, locals, loader)[0]

    def render_lookup_mapped(self, text: str, scope: Scope | None, name: str,
                             locals: Mapping[str, Any] | None = None,
                             loader: BaseLoader | None = None) -> tuple[Any, LineMap]:
        """What lookup('template') returns for one file, and the line map of that value as text."""
        out, lines = self._render(text, RenderVars(scope, locals, self.env.globals), convert_data=True,
                                  escape_backslashes=False, name=name, loader=loader, trace=True)
        assert lines is not None
        return out, lines

    def do_template(self, data: str, rvars: RenderVars, convert_data: bool, escape_backslashes: bool = True,
                    name: str | None = None) -> Any:
        return self._render(data, rvars, convert_data, escape_backslashes, name)[0]

    def _render(self, data: str, rvars: RenderVars, convert_data: bool, escape_backslashes: bool = True,
                name: str | None = None, loader: BaseLoader | None = None,
                trace: bool = False) -> tuple[Any, LineMap | None]:
        """Templar.do_template; with `trace`, also the line map of the result (`linemap`)."""
        template, env = self.env.compile_cached(data if not escape_backslashes else _escape(data, self.env),
                                                name=name)
        concat = eval_concat if convert_data else text_concat
        saved = env.concat
        env.concat = concat  # type: ignore[method-assign]  # macros use environment.concat, as in Templar.do_template
        saved_loader = env.loader
        if loader is not None:
            env.loader = loader
        deadline = self.env.deadline
        top = self._depth == 0
        if top:
            deadline.start(self.deadline_s)
        self._depth += 1
        state = self.env.render_state
        was_mutable = state["mutable"]
        traced: Trace | None = None
        try:
            if template.kv_mutates and not rvars.copying:
                rvars = rvars.copies()
            state["mutable"] = rvars.copying
            ctx = _new_context(template, rvars, True)
            if trace:
                traced = Trace(template, template.root_render_func(ctx))
                res = text_concat_traced(traced) if concat is text_concat else concat(traced)
            else:
                res = concat(template.root_render_func(ctx))
        except TypeError as e:
            # Templar.do_template: a TypeError naming the undefined class (a filter given an
            # undefined value, `undefined | from_json`) is an undefined-variable error.
            if "Undefined" not in str(e):
                raise
            raise _undefined_from(e) from e
        finally:
            state["mutable"] = was_mutable
            self._depth -= 1
            env.concat = saved  # type: ignore[method-assign]
            env.loader = saved_loader
            if top:
                deadline.stop()
        if isinstance(res, str):
            data_nl = count_newlines_from_end(_strip_header(data))
            res_nl = count_newlines_from_end(res)
            if data_nl > res_nl:
                res += env.newline_sequence * (data_nl - res_nl)
        if traced is None:
            return res, None
        text = res if isinstance(res, str) else str(res)
        return res, traced.line_map(text, data.count("\n") + (not data.endswith("\n")))


class RecordingLoader(BaseLoader):
    """A render's include loader whose answers are reads of the evaluation (`reuse`): the name,
    and the text and path found (None when there is none)."""

    def __init__(self, inner: BaseLoader, store: Store, env: Any) -> None:
        self.inner = inner
        self.store = store
        self.env = env

    def _source(self, name: str) -> tuple[str | None, str | None]:
        try:
            source, path, _ = self.inner.get_source(self.env, name)
        except TemplateNotFound:
            return None, None
        return source, path

    def get_source(self, environment: Any, template: str) -> tuple[str, str, Any]:
        source, path = self._source(template)
        self.store.note_global(("inc", template, (source, path)))
        if source is None or path is None:
            raise TemplateNotFound(template)
        return source, path, _up_to_date

    def load(self, environment: Any, name: str, globals: Any = None) -> Any:  # noqa: A002 - Jinja's name
        source, path, _ = self.get_source(environment, name)
        return environment.compile_include(source, path)

    def read_again(self, name: str) -> tuple[str | None, str | None]:
        return self._source(name)


def _up_to_date() -> bool:
    return True


def _undefined_from(exc: TypeError) -> UndefinedVariable:
    """The undefined value behind a TypeError: the innermost frame that holds one names it."""
    found: Undefined | None = None
    tb = exc.__traceback__
    while tb is not None:
        for value in tb.tb_frame.f_locals.values():
            if isinstance(value, Undefined):
                found = value
        tb = tb.tb_next
    if isinstance(found, ChainedUndefined):
        missing = found.__dict__.get("missing") or found._undefined_name
        return UndefinedVariable(f"{found._undefined_message}: {exc}", missing, found.__dict__.get("chain", ()))
    return UndefinedVariable(str(exc), None, ())


def _escape(data: str, env: SandboxEnvironment) -> str:
    return escape_backslashes(data, env) if "\\" in data else data


def _strip_header(data: str) -> str:
    if data.startswith("#jinja2:"):
        return data[data.find("\n") + 1:]
    return data
