"""Running a playbook the way ansible-playbook would, without touching any machine.

`Engine.run_playbook(path)` interprets plays, roles and tasks (see `tasks.py`) for every host of
the inventory and returns every `Rendering` (each `template` task and each `lookup('template')`)
and every `Finding`. Modules that would touch a machine get their `register` result from a
pluggable `Simulator` (None -> `DEFAULT_RESULT`).

Variable precedence per host follows ansible-core 2.18's `VariableManager.get_vars`, highest
first: loop variable and magic variables > extra vars > role params > set_fact/register >
include_vars > block and task vars (and include params) > running role's vars > vars of the
play's public roles > play vars_files > play vars > facts (and cacheable set_fact) > host_vars >
group_vars (child groups beat parents, `all` lowest) > running role's defaults > defaults of the
play's public roles.

`limit` is ansible-playbook's `--limit` (a host pattern, `patterns.py`): every play runs on its hosts
inside the limit. A host outside it runs nothing, so its `hostvars` hold its inventory variables and
only what `fact_cache` holds for it (what a fact cache plugin kept from an earlier run: gathered facts
and `set_fact ... cacheable: true`; `Engine.fact_cache()` gives it after a run). A name read from
such a host that the cache lacks but the run set elsewhere is undefined with the reason
(`Origins`), at the template line that reads it.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterable, Mapping
from typing import Any

from kvalidate.ansible.inventory import LOCALHOST_NAMES, Inventory
from kvalidate.ansible.loader import Files, LoadError, Role, cached_tree, find_role, load_role, role_entry
from kvalidate.ansible.lookups.core import CHECKOUT_ROOT, LookupEnv, run_lookup
from kvalidate.ansible.patterns import limit_hosts
from kvalidate.ansible.playbook import run_playbook_file
from kvalidate.ansible.reuse import enabled_by_env
from kvalidate.ansible.templar import OMIT_TOKEN, RenderVars, Templar
from kvalidate.ansible.types import (
    HostState,
    PlayState,
    Rendering,
    RoleCtx,
    RunResult,
    Simulator,
)
from kvalidate.ansible.variables import HOSTS, ExplainedScope, Resolver, Scope, undefined
from kvalidate.model import Finding, LineMap
from kvalidate.trees.directory import Tree


def facts_layer(facts: Mapping[str, Any]) -> dict[str, Any]:
    """ansible_facts plus the facts injected as `ansible_*` variables (INJECT_FACTS_AS_VARS)."""
    bare = {(k[8:] if k.startswith("ansible_") else k): v for k, v in facts.items()}
    return {"ansible_facts": bare, **{f"ansible_{k}": v for k, v in bare.items()}}


def merge_facts(low: Mapping[str, Any], high: Mapping[str, Any]) -> dict[str, Any]:
    """Two facts layers, `high` winning (FactCache.first_order_merge: gathered facts over cached ones)."""
    return {**low, **high, "ansible_facts": {**(low.get("ansible_facts") or {}), **(high.get("ansible_facts") or {})}}


class Origins:
    """Where the run set each name it set without caching it, and where it cached one: what a
    finding says when a host outside `--limit` lacks the name. The first place of each kind is kept
    (cheap: one dict lookup per name set)."""

    def __init__(self) -> None:
        self.uncached: dict[str, str] = {}  # name -> "set by set_fact without cacheable: true in F:L"
        self.cached: dict[str, str] = {}  # name -> "set by set_fact with cacheable: true in F:L"

    def note(self, name: str, cached: bool, where: Any) -> None:
        """`where()` gives the description; called only for a name not seen yet."""
        target = self.cached if cached else self.uncached
        if name not in target:
            target[name] = where()

    def update(self, other: Origins) -> None:
        for mine, theirs in ((self.uncached, other.uncached), (self.cached, other.cached)):
            for k, v in theirs.items():
                mine.setdefault(k, v)


# VariableManager._get_magic_variables: only with a play
PLAY_MAGIC = frozenset({"ansible_play_role_names", "role_names", "ansible_dependent_role_names", "ansible_role_names",
                        "ansible_play_name", "ansible_play_hosts_all", "ansible_play_hosts", "ansible_play_batch",
                        "play_hosts"})
ROLE_NAME_VARS = ("ansible_play_role_names", "role_names", "ansible_dependent_role_names", "ansible_role_names")
# The version the engine's semantics are (ansible-core 2.18); a caller may report another
# (`Engine.ansible_version`), as the Kubespray layer does for a checkout that pins another range.
ANSIBLE_VERSION = "2.18.19"


def version_var(version: str) -> dict[str, Any]:
    """`ansible_version` as ansible-core builds it (cli/__init__.py, `version_info(gitinfo=False)`)."""
    parts = [*version.split("."), "0", "0"][:3]
    nums = [int(p) if p.isdigit() else 0 for p in parts]
    return {"string": version, "full": version, "major": nums[0], "minor": nums[1], "revision": nums[2]}


class HostVars(Mapping[str, Any]):
    """`hostvars`: every inventory host's variables, templated on access.

    As ansible-core 2.18's `HostVars.raw_get` (`get_vars(host=host)`, no play and no task): inventory
    group and host vars, facts, include_vars, set_fact/register, extra vars and magic variables,
    but no role defaults, role vars or play vars."""

    kv_view = True  # reuse: what is read through it is recorded read by read

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def __getitem__(self, host: str) -> Scope:
        store = self.engine.templar.reuse
        self.engine.resolver.note((HOSTS,))
        if host not in self.engine.inventory.hosts:
            if host not in LOCALHOST_NAMES:
                store.note_global(("hk", host, False))
                raise KeyError(host)
            self.engine.implicit_localhost(host)
        store.note_global(("hk", host, True))
        return self.engine.hostvars_scope(host)

    def __iter__(self) -> Any:
        self.engine.resolver.note((HOSTS,))
        self.engine.templar.reuse.note_global(("hi", tuple(self.engine.inventory.hosts)))
        return iter(self.engine.inventory.hosts)

    def __len__(self) -> int:
        self.engine.resolver.note((HOSTS,))
        self.engine.templar.reuse.note_global(("hi", tuple(self.engine.inventory.hosts)))
        return len(self.engine.inventory.hosts)


class Engine:
    """One run of playbooks over one inventory (one matrix cell)."""

    def __init__(self, tree: Tree, inventory: Inventory, *, extra_vars: Mapping[str, Any] | None = None,
                 env: Mapping[str, str] | None = None, simulator: Simulator | None = None,
                 limit: Iterable[str] | None = None, templar: Templar | None = None,
                 passwords: Mapping[str, str] | None = None, skip_task_files: Iterable[str] = (),
                 keep_going: bool = False, record_gates: bool = False, ansible_version: str | None = None,
                 fact_cache: Mapping[str, Mapping[str, Any]] | None = None, fact_cache_note: str = "",
                 origins: Origins | None = None) -> None:
        self.tree: Tree = cached_tree(tree)
        tree = self.tree
        self.files = Files(tree)
        self.inventory = inventory
        self.extra_vars = dict(extra_vars or {})
        self.simulator = simulator
        # --limit: a host pattern (a list of names is joined with ","), evaluated by ansible-core
        # against the inventory as it is when a play starts (group_by/add_host change it)
        self.limit: str | None = (limit if isinstance(limit, str) else ",".join(limit)) if limit is not None else None
        self._limit_hosts: frozenset[str] | None = None
        self.templar = templar or Templar.shared()
        self.templar.lookup_handler = self._lookup
        self.templar.env.frozen.clear()  # values of earlier engines' caches
        self.resolver = Resolver(self.templar)
        self.templar.reuse.enabled = enabled_by_env()
        # values shared between the scopes of a host (variables.Scope._shared): with reuse, and not under
        # --limit (what a host outside it says for a missing name depends on what the run set so far)
        self.resolver.share = self.templar.reuse.enabled and limit is None
        self.templar.reuse.on_taint = self.resolver.impure
        self.lookup_env = LookupEnv(tree, self.templar, dict(env or {}), inventory.match,
                                    on_template=self._lookup_rendered, passwords=dict(passwords or {}))
        # keep_going: a failed task is a finding but does not stop its host (the oracle's
        # sanitized playbooks ignore errors the same way); False is Ansible's behaviour.
        self.keep_going = keep_going
        self.skip_task_files = tuple(skip_task_files)  # fnmatch patterns: task files read as empty
        # facts: a host in the limit gathers its own (over what the cache holds); one outside has
        # only the cache's. `origins`: recorded whenever a limit is set (or a caller asks, by passing one)
        self.cache = {h: dict(v) for h, v in (fact_cache or {}).items()}
        self.fact_cache_note = fact_cache_note or "not in the fact cache of a --limit run"
        self.origins: Origins | None = origins if origins is not None else (Origins() if limit is not None else None)
        self.played: set[str] = set()  # hosts some play ran on (whose facts a cache would hold)
        self._gathered: dict[str, frozenset[str]] = {}  # host -> names its gathered facts define
        self.hosts = {h: HostState(self._initial_facts(h)) for h in inventory.hosts}
        self.groups: dict[str, list[str]] = inventory.groups_map()
        self.group_names: dict[str, list[str]] = {h: inventory.group_names(h) for h in inventory.hosts}
        self.hostvars = HostVars(self)
        self.resolver.hostvars = self.hostvars
        # `ansible_version`: the version the run reports (2.18's by default)
        self.ansible_version = version_var(ansible_version or ANSIBLE_VERSION)
        self.result = RunResult()
        self.play: PlayState | None = None
        self._play_scopes: dict[str, Scope] = {}
        self._hostvars_scopes: dict[str, Scope] = {}
        self._role_scopes: dict[tuple[str, tuple[str, ...]], Scope] = {}
        self._magic: dict[str, dict[str, Any]] = {}
        self._group_vars: dict[str, list[Mapping[str, Any]]] = {}
        self._role_magic: dict[tuple[str, tuple[str, ...]], dict[str, Any]] = {}
        self._deps: dict[str, list[Role]] = {}
        # id of a RoleCtx -> (it, its own vars layers, its own defaults layers, its params layer)
        self._role_layers: dict[int, tuple[RoleCtx, list[Mapping[str, Any]], list[Mapping[str, Any]],
                                           list[Mapping[str, Any]]]] = {}
        self.current: dict[str, Any] = {}  # task context for lookups and renderings
        self.task_runs: dict[str, int] = {}  # host -> tasks run (not skipped), for role deduplication
        self.record_gates = record_gates  # automatic coverage: RunResult.gates (tasks.record_gate)
        self.peeked_tasks = 0  # peek.py: tasks walked behind skipped includes (bounded)
        self.peeked_files: set[tuple[Any, ...]] = set()
        self.gate_index: dict[Any, Any] = {}  # tasks.record_gate: each recorded gate, by itself
        self._gate_defaults: dict[tuple[str, ...], dict[str, Any]] = {}
        # whole-task reuse (taskmemo.py): what the run depends on besides variables and the task,
        # set by the caller (None: tasks are not memoized); `effects` logs what a task sets
        self.memo: Any = None
        self.effects: list[tuple[Any, ...]] | None = None

    # -- public entry points ------------------------------------------------------------------------
    def run_playbook(self, path: str) -> RunResult:

        self.templar.lookup_handler = self._lookup
        store = self.templar.reuse
        store.on_taint = self.resolver.impure
        done, reused = store.done, store.reused
        run_playbook_file(self, path, posixpath.dirname(path))
        self.result.groups = {g: list(m) for g, m in self.groups.items()}
        self.result.reuse["done"] = self.result.reuse.get("done", 0) + store.done - done
        self.result.reuse["reused"] = self.result.reuse.get("reused", 0) + store.reused - reused
        return self.result

    def fact_cache(self) -> dict[str, dict[str, Any]]:
        """What a fact cache plugin holds after this run, per host (facts layers, the shape
        `fact_cache=` takes): for every host a play ran on, its gathered facts and every
        `set_fact ... cacheable: true` (and module facts) it got; nothing else it was given."""
        return {h: dict(st.facts) for h, st in self.hosts.items() if h in self.played or h in self.cache}

    # -- --limit -------------------------------------------------------------------------------------
    def limit_set(self) -> frozenset[str] | None:
        """The hosts inside --limit (None: no limit), re-evaluated when the inventory changed."""
        if self.limit is None:
            return None
        if self._limit_hosts is None:
            self._limit_hosts = frozenset(limit_hosts(self.inventory, self.limit))
        return self._limit_hosts

    def in_limit(self, host: str) -> bool:
        hosts = self.limit_set()
        return hosts is None or host in hosts

    def _initial_facts(self, host: str) -> dict[str, Any]:
        gathered = facts_layer(self.inventory.facts.get(host, {}))
        if self.limit is None and not self.cache:
            return gathered
        cached = self.cache.get(host, {})
        return merge_facts(cached, gathered) if self.in_limit(host) else dict(cached)

    def _gathered_names(self, host: str) -> frozenset[str]:
        hit = self._gathered.get(host)
        if hit is None:
            hit = self._gathered[host] = frozenset(facts_layer(self.inventory.facts.get(host, {})))
        return hit

    def explain_missing(self, host: str, name: str) -> str | None:
        """Why `hostvars[host][name]` is undefined for a host outside --limit, when the run (or the
        fact cache's playbook) set it elsewhere; None when nothing is known of it."""
        o = self.origins
        why = None
        if o is not None and name in o.uncached:
            why = f"{name} was {o.uncached[name]}"
        elif o is not None and name in o.cached:
            why = f"{name} was {o.cached[name]}, which did not run on {host}"
        elif name == "ansible_facts" or name in self._gathered_names(host):
            why = f"{name} is a gathered fact"
        if why is None:
            return None
        return (f"hostvars['{host}']['{name}'] is undefined: {host} is outside --limit {self.limit!r} and {why}; "
                f"{self.fact_cache_note}")

    # -- variable scopes ---------------------------------------------------------------------------
    def host_state(self, host: str) -> HostState:
        if host not in self.hosts:
            self.hosts[host] = HostState(self._initial_facts(host))
        return self.hosts[host]

    def magic(self, host: str, role: RoleCtx | None) -> dict[str, Any]:
        base = self._magic.get(host)
        if base is None:
            base = self._magic[host] = self._magic_base(host)
        if role is None:
            return base
        key = (host, role.key)
        hit = self._role_magic.get(key)
        if hit is None:
            hit = self._role_magic[key] = self._with_role(base, role)
        return hit

    def hostvars_magic(self, host: str) -> dict[str, Any]:
        """HostVars.raw_get is `get_vars(host=...)` with no play: no play names, hosts or roles."""
        key = "\0hostvars\0" + host
        hit = self._magic.get(key)
        if hit is None:
            hit = self._magic[key] = {k: v for k, v in self.magic(host, None).items() if k not in PLAY_MAGIC}
        return hit

    @staticmethod
    def _with_role(base: dict[str, Any], role: RoleCtx) -> dict[str, Any]:
        out = {**base, "role_name": role.role.name, "role_path": f"{CHECKOUT_ROOT}/{role.role.path}",
               "ansible_role_name": role.role.name}
        if role.included and role.parents:
            # IncludeRole.get_include_params: only a role included from a role has them, the
            # including role first (a role's dependencies do not)
            out["ansible_parent_role_names"] = [p.name for p in role.parents]
            out["ansible_parent_role_paths"] = [f"{CHECKOUT_ROOT}/{p.path}" for p in role.parents]
        return out

    def _magic_base(self, host: str) -> dict[str, Any]:
        play = self.play
        pdir = f"{CHECKOUT_ROOT}/{play.playbook_dir}".rstrip("/") if play else CHECKOUT_ROOT
        m: dict[str, Any] = {
            "inventory_hostname": host, "inventory_hostname_short": host.split(".")[0],
            "groups": self.groups, "group_names": self.group_names.setdefault(host, ["ungrouped"]),
            "hostvars": self.hostvars, "omit": OMIT_TOKEN, "playbook_dir": pdir,
            "ansible_check_mode": False, "ansible_diff_mode": False, "ansible_version": self.ansible_version,
            "ansible_run_tags": ["all"], "ansible_skip_tags": [], "ansible_verbosity": 0, "ansible_forks": 5,
        }
        if host in self.inventory.hosts:
            # InventoryManager's host vars for an inventory host (not the implicit localhost)
            m["inventory_dir"] = f"{CHECKOUT_ROOT}/{posixpath.dirname(self.inventory.source)}".rstrip("/")
            m["inventory_file"] = f"{CHECKOUT_ROOT}/{self.inventory.source}" if self.inventory.source else None
        if play is not None:
            m.update({"ansible_play_role_names": play.role_names, "role_names": play.role_names,
                      "ansible_dependent_role_names": play.dependent_names,
                      "ansible_role_names": play.all_role_names, "ansible_play_name": play.name,
                      "ansible_play_hosts_all": list(play.hosts_all), "ansible_play_hosts": list(play.hosts),
                      "ansible_play_batch": list(play.hosts), "play_hosts": list(play.hosts)})
        return m

    def layers(self, host: str, role: RoleCtx | None, task_vars: list[Mapping[str, Any]],
               top: Mapping[str, Any] | None = None) -> list[Mapping[str, Any]]:
        st = self.host_state(host)
        play = self.play
        inv_host = self.inventory.host_vars.get(host, {})
        groups = self.group_vars_chain(host)
        public = play.public if play else []
        own_vars: list[Mapping[str, Any]] = []
        own_defaults: list[Mapping[str, Any]] = []
        params: list[Mapping[str, Any]] = []
        if role is not None:
            hit = self._role_layers.get(id(role))
            if hit is None or hit[0] is not role:
                # Role.get_vars / get_default_vars(dep_chain): own > parents > all dependencies
                # (fixed for a RoleCtx: its roles, their dependencies and its params never change)
                deps = self.all_dependencies(role.role)
                hit = self._role_layers[id(role)] = (
                    role, [role.role.vars, *(p.vars for p in role.parents), *(d.vars for d in reversed(deps))],
                    [role.role.defaults, *(p.defaults for p in role.parents), *(d.defaults for d in reversed(deps))],
                    [role.params])
            own_vars, own_defaults, params = hit[1], hit[2], hit[3]
        out: list[Mapping[str, Any]] = []
        if top:
            out.append(top)
        out += [self.magic(host, role), self.extra_vars, *params, st.nonpersistent, st.vars_cache,
                *reversed(task_vars), *own_vars, *(r.role.vars for r in reversed(public) if r.public),
                *(reversed(play.vars_files) if play else []), play.vars if play else {}, st.facts, inv_host,
                *groups, *own_defaults, *(r.role.defaults for r in reversed(public) if r.public)]
        return out

    def all_dependencies(self, role: Role) -> list[Role]:
        """Role.get_all_dependencies: meta dependencies, depth first, deepest first."""
        hit = self._deps.get(role.path)
        if hit is not None:
            return hit

        out: list[Role] = []
        self._deps[role.path] = out  # guards against dependency cycles
        for dep in role.dependencies:
            name = role_entry(dep)[0]
            path = find_role(self.files, name, self.play.playbook_dir if self.play else "", role.path)
            if path is None:
                continue
            try:
                loaded = load_role(self.files, path, name)
            except LoadError:
                continue
            out += [*self.all_dependencies(loaded), loaded]
        return out

    def implicit_localhost(self, host: str) -> None:
        """InventoryData._create_implicit_localhost: a host in no group (not even `all`'s host
        list) with `ansible_connection: local`; `all`'s group vars still apply to it. Ansible sets
        `ansible_python_interpreter` to its own `sys.executable`; a fixed path here keeps renderings
        reproducible."""
        self.inventory.host_vars.setdefault(host, {"ansible_python_interpreter": "/usr/bin/python3",
                                                   "ansible_connection": "local"})
        self.group_names.setdefault(host, [])

    def group_vars_chain(self, host: str) -> list[Mapping[str, Any]]:
        """The host's group vars, highest precedence first (cached until its groups change)."""
        hit = self._group_vars.get(host)
        if hit is None and host not in self.inventory.hosts:
            hit = self._group_vars[host] = [self.inventory.groups["all"].vars]
        if hit is None:
            hit = self._group_vars[host] = [g.vars for g in reversed(self.inventory.group_chain(host))]
        return hit

    def hostvars_scope(self, host: str) -> Scope:
        scope = self._hostvars_scopes.get(host)
        if scope is None:
            st = self.host_state(host)
            groups = self.group_vars_chain(host)
            layers: list[Mapping[str, Any]] = [
                self.hostvars_magic(host), self.extra_vars, st.nonpersistent, st.vars_cache, st.facts,
                self.inventory.host_vars.get(host, {}), *groups]
            if self.in_limit(host):
                scope = Scope(self.resolver, host, layers, persistent=True)
            else:
                scope = ExplainedScope(self.resolver, host, layers, persistent=True, explain=self._explained)
            scope.hv_host = host
            self._hostvars_scopes[host] = scope
        return scope

    def _explained(self, host: str, name: str) -> Any:
        hint = self.explain_missing(host, name)
        return None if hint is None else undefined(hint=hint, name=name, missing=name)

    def play_scope(self, host: str) -> Scope:
        scope = self._play_scopes.get(host)
        if scope is None:
            scope = Scope(self.resolver, host, self.layers(host, None, []), persistent=True)
            self._play_scopes[host] = scope
        return scope

    def role_scope(self, host: str, role: RoleCtx | None) -> Scope:
        if role is None:
            return self.play_scope(host)
        key = (host, role.key)
        scope = self._role_scopes.get(key)
        if scope is None:
            scope = self.play_scope(host).derive(self.layers(host, role, []), persistent=True)
            self._role_scopes[key] = scope
        return scope

    def task_scope(self, host: str, role: RoleCtx | None, task_vars: list[Mapping[str, Any]],
                   top: Mapping[str, Any] | None = None) -> Scope:
        base = self.role_scope(host, role)
        if not any(task_vars) and not top:
            return base
        # the role scope's layers with the task's (and the loop item's) added: in the same order
        return base.derive(self.layers(host, role, task_vars, top), ordered=True)

    def add_play_role(self, role: Role) -> None:
        """IncludeRole.get_block_list, once per include: `myplay.roles.append(actual_role)`."""
        if self.play is not None:
            self.play.roles.append(role)
            self._add_role_names(self.play, role)
            for host in self.hosts:  # values cached from the old lists
                self.resolver.changed(host, ROLE_NAME_VARS)

    def _add_role_names(self, play: PlayState, role: Role) -> None:
        # VariableManager._get_magic_variables (2.18): names from Play.roles, recomputed at each
        # get_vars; here the lists are shared by every host's magic variables and grow in place.
        # The dependency names are a set there (unordered): first-seen order here.
        play.role_names.append(role.name)
        for d in self.all_dependencies(role):
            if d.name not in play.dependent_names:
                play.dependent_names.append(d.name)
            if d.name not in play.all_role_names:
                play.all_role_names.append(d.name)
        if role.name not in play.all_role_names:
            play.all_role_names.append(role.name)

    def reset_play_scopes(self) -> None:
        self._play_scopes.clear()
        self._role_scopes.clear()
        self._hostvars_scopes.clear()
        self._magic.clear()
        self._role_magic.clear()
        # the index is kept: values of the dropped scopes may still be shared (variables.Scope._shared)
        # and must still be dropped when what they read changes

    # -- changes made by tasks ---------------------------------------------------------------------
    def set_var(self, host: str, layer: str, values: Mapping[str, Any]) -> None:
        st = self.host_state(host)
        target: dict[str, Any] = getattr(st, layer)
        target.update(values)
        self.resolver.changed(host, list(values))
        if self.effects is not None:
            self.effects.append(("var", host, layer, dict(values)))
            self._seal()

    def set_facts(self, host: str, values: Mapping[str, Any]) -> None:
        """Facts a task gave `host` (cacheable set_fact, module facts): injected as variables and
        under `ansible_facts` without their `ansible_` prefix (namespace_facts)."""
        if self.effects is not None:
            self.effects.append(("facts", host, dict(values)))
            self._seal()
        st = self.host_state(host)
        st.facts.update(values)
        bare = {(k[8:] if k.startswith("ansible_") and k != "ansible_local" else k): v for k, v in values.items()}
        st.facts["ansible_facts"] = {**(st.facts.get("ansible_facts") or {}), **bare}
        self.resolver.changed(host, [*values, "ansible_facts"])

    def _seal(self) -> None:
        """A memoized task set a variable: reads after this one would not be replayed as made (taskmemo)."""
        stack = self.templar.reuse.stack
        if stack:
            stack[-1].sealed = True

    def fail_host(self, host: str) -> None:
        """`host` failed (a task's error): an effect of the task (taskmemo)."""
        self.host_state(host).failed = True
        if self.effects is not None:
            self.effects.append(("failed", host))

    def count_run(self, host: str) -> None:
        """A task ran on `host` (role deduplication): an effect of the task (taskmemo)."""
        self.task_runs[host] = self.task_runs.get(host, 0) + 1
        if self.effects is not None:
            self.effects.append(("ran", host))

    def note_origin(self, names: Iterable[str], cached: bool, where: Any) -> None:
        """Record where names were set (only when origins are kept: a --limit run)."""
        if self.origins is not None:
            for n in names:
                self.origins.note(str(n), cached, where)

    def add_to_group(self, host: str, group: str, parents: Iterable[str] = ()) -> None:
        before = {g.name: list(g.vars) for g in self.inventory.group_chain(host)} if host in self.hosts else {}
        if host not in self.inventory.hosts:
            self.resolver.changed(HOSTS[0], ())  # a new host: what read the set of hosts is stale
        self.inventory.add_host_to_group(host, group, parents)
        self.host_state(host)
        new_map = self.inventory.groups_map()
        self.groups.clear()
        self.groups.update(new_map)
        for h in self.inventory.hosts:
            names = self.inventory.group_names(h)
            gl = self.group_names.setdefault(h, [])
            if gl != names:
                gl[:] = names
                self.resolver.changed(h, ["group_names"])
            self.resolver.changed(h, ["groups"])
        for h in self.hosts:
            if h not in self.inventory.hosts:  # the implicit localhost reads `groups` too
                self.resolver.changed(h, ["groups"])
        changed = {n for g in self.inventory.group_chain(host) if g.name not in before for n in g.vars}
        self.resolver.changed(host, list(changed))
        self._limit_hosts = None  # the limit's groups may have changed
        self._play_scopes.pop(host, None)
        self._hostvars_scopes.pop(host, None)
        self._group_vars.clear()
        for key in [k for k in self._role_scopes if k[0] == host]:
            del self._role_scopes[key]

    # -- lookups and findings ------------------------------------------------------------------------
    def _lookup(self, rv: Any, name: str, terms: list[Any], kwargs: dict[str, Any], wantlist: bool) -> Any:
        rvars: RenderVars = rv
        return run_lookup(self.lookup_env, rvars, name, terms, kwargs, wantlist)

    def _lookup_rendered(self, path: str, value: Any, lines: LineMap | None = None) -> None:
        cur = self.current
        text = value if isinstance(value, str) else str(value)
        self.result.renderings.append(Rendering(
            template=path, role=cur.get("role", ""), dest="", host=cur.get("host", ""), task=cur.get("task", ""),
            item=cur.get("item"), text=text, via="lookup", vars_host=cur.get("host", ""), lines=lines))

    def ignores_errors(self, task: Mapping[str, Any]) -> bool:
        value = task.get("ignore_errors", False)
        return self.keep_going or (value if isinstance(value, bool) else str(value).lower() in ("true", "yes"))

    def scope_defaults(self, role: RoleCtx | None) -> dict[str, Any]:
        """Raw role defaults a task of `role` sees: the play's public roles, then the running role and
        the roles that pulled it in (later wins, as in `layers`). Cached per role."""
        key = (str(id(self.play)), *(role.key if role else ()))
        hit = self._gate_defaults.get(key)
        if hit is None:
            hit = {}
            for rc in self.play.public if self.play else []:
                hit.update(rc.role.defaults)
            if role is not None:
                for r in [*self.all_dependencies(role.role), *reversed(role.parents), role.role]:
                    hit.update(r.defaults)
            self._gate_defaults[key] = hit
        return hit

    def add_finding(self, finding: Finding) -> None:
        self.result.findings.append(finding)
