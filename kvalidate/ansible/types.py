"""The data the engine's parts hand each other: module calls and their simulated results,
renderings, recorded gates, a run's result, per-host and per-play state, the running role and
task context. Imports nothing of the engine, so that the engine, the playbook runner, tasks and
actions can all name these types without importing each other."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from kvalidate.ansible.loader import Role
from kvalidate.model import Finding, LineMap


@dataclass(frozen=True)
class ModuleCall:
    """A module task the engine does not run itself (command, stat, slurp, ...). `args` are templated."""

    module: str
    args: dict[str, Any]
    host: str
    task_name: str
    role: str


Simulator = Callable[[ModuleCall], dict[str, Any] | None]

# What a module that touched nothing returns (ansible-core's shape for a command that succeeded).
DEFAULT_RESULT: Mapping[str, Any] = {"changed": False, "failed": False, "rc": 0, "stdout": "", "stdout_lines": [],
                                     "stderr": "", "stderr_lines": [], "skipped": False}


@dataclass(frozen=True)
class Rendering:
    """One rendered file. `template` is its path in the tree; `via` is "template", "lookup" or
    "copy" (`copy: content:`, where `template` is the task file). `host` is where the file is
    written (the `delegate_to` target, if any); `vars_host` is the inventory host whose variables
    rendered it (`inventory_hostname`; the same host unless the task is delegated). `lines` is
    which template line wrote each line of `text`, recorded while rendering (`linemap`); None for
    `copy` renderings (no template)."""

    template: str
    role: str
    dest: str
    host: str
    task: str
    item: Any
    text: str
    via: str = "template"
    vars_host: str = ""
    lines: LineMap | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class TemplateGate:
    """A `template` task met during a run (rendered or skipped), recorded when the engine is asked
    to (`record_gates=True`): the template's tree path, the conditions that gate it (the task's
    `when`, enclosing blocks, import and dynamic include conditions, role `when` of play roles and
    meta dependencies; outermost first, as written) and the raw role defaults in scope (the play's
    public roles, then the running role and the roles that pulled it in)."""

    template: str
    role: str
    conditions: tuple[str, ...]
    defaults: Mapping[str, Any] = field(compare=False, hash=False, repr=False, default_factory=dict)
    # the variables as the task saw them, per host it was met on (up to 3; lazy mappings whose
    # values are templated on access): what automatic coverage reads a variable's type from, and
    # whether its value differs between hosts
    scopes: dict[str, Mapping[str, Any]] = field(compare=False, hash=False, repr=False, default_factory=dict)
    peeked: bool = field(compare=False, default=False)  # met behind an include the run skipped (peek.py)


@dataclass(frozen=True)
class NameChoice:
    """An `include_role`/`include_tasks` whose name is made of one variable (`network_plugin/{{
    kube_network_plugin }}`), met with `record_gates=True`: the values of that variable for which
    the checkout has the role or task file (`values`), and the include's own `when` (a value that
    makes it false selects nothing, and is valid too)."""

    variable: str
    values: tuple[str, ...]
    conditions: tuple[str, ...] = ()


@dataclass(frozen=True)
class CheckGate:
    """An `assert` (`that`: conditions that must hold) or `fail` task (`that` empty: its gate is the
    failure condition) met during a run with `record_gates=True`: the checkout's own rules on
    variable values, which automatic coverage must not violate."""

    module: str  # "assert" or "fail"
    conditions: tuple[str, ...]
    that: tuple[str, ...]
    defaults: Mapping[str, Any] = field(compare=False, hash=False, repr=False, default_factory=dict)
    scopes: dict[str, Mapping[str, Any]] = field(compare=False, hash=False, repr=False, default_factory=dict)


@dataclass
class RunResult:
    renderings: list[Rendering] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    gates: list[TemplateGate] = field(default_factory=list)  # only with Engine(record_gates=True)
    checks: list[CheckGate] = field(default_factory=list)  # only with Engine(record_gates=True)
    choices: list[NameChoice] = field(default_factory=list)  # only with Engine(record_gates=True)
    groups: dict[str, list[str]] = field(default_factory=dict)  # `groups` at the end of the run (group_by included)
    reuse: dict[str, int] = field(default_factory=dict)  # evaluations done and reused (`reuse`)


@dataclass
class HostState:
    """What a run changes per host: facts (with cacheable set_fact), include_vars, set_fact/register."""

    facts: dict[str, Any]
    vars_cache: dict[str, Any] = field(default_factory=dict)
    nonpersistent: dict[str, Any] = field(default_factory=dict)
    failed: bool = False


@dataclass(frozen=True)
class RoleCtx:
    """The running role: itself, the roles that pulled it in (dependency chain), its params."""

    role: Role
    params: Mapping[str, Any] = field(default_factory=dict)
    parents: tuple[Role, ...] = ()
    public: bool = True
    included: bool = False  # by include_role/import_role from a task of `parents[0]`

    @cached_property  # every field is fixed (frozen; a Role's path and the params' identity too)
    def key(self) -> tuple[str, ...]:
        return (self.role.path, *(p.path for p in self.parents), str(id(self.params)), "i" * self.included)


@dataclass
class PlayState:
    name: str
    hosts: list[str]
    vars: dict[str, Any]
    vars_files: list[dict[str, Any]]
    public: list[RoleCtx]
    playbook_dir: str
    roles: list[Role] = field(default_factory=list)  # Play.roles (duplicates kept, as Ansible's)
    hosts_all: list[str] = field(default_factory=list)  # the play's hosts, failed ones included
    role_names: list[str] = field(default_factory=list)  # ansible_play_role_names
    dependent_names: list[str] = field(default_factory=list)  # ansible_dependent_role_names
    all_role_names: list[str] = field(default_factory=list)  # ansible_role_names
    ran_roles: dict[tuple[str, str], set[str]] = field(default_factory=dict)  # role -> hosts it ran on


@dataclass(frozen=True)
class TaskCtx:
    role: RoleCtx | None = None
    conditions: tuple[Any, ...] = ()
    vars: tuple[Mapping[str, Any], ...] = ()
    base: str = ""  # directory of the file being run (relative includes)
    file: str = ""
    # `when` of the dynamic includes (include_tasks/include_role) that led here: evaluated once at
    # the include, never again, so not in `conditions`; only recorded (TemplateGate)
    include_when: tuple[Any, ...] = ()
