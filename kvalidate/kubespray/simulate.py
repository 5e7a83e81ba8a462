"""Simulated results of machine-touching modules, for a fresh and healthy host.

Follows the reference renderer's rules (`data/sim-rules.yml`, docs/fidelity.md) and its matching
of them: rules are tried in order, the first match wins; `module`
is a regex matched in full against the short module name (`ansible.builtin.command` ->
`command`); `match` maps an argument to a regex searched in its value (`_any`: all arguments
joined as `k=v` sorted by key; `_task`: the task name with its `role : ` prefix). Without a
match the module's default applies, else the `'*'` default. `stdout_lines`/`stderr_lines` are
derived, and `content_text` becomes base64 `content` (for `slurp`).

The simulated host: commands succeed with empty output; files Kubespray creates do not exist;
`/usr` is writable; `/etc/resolv.conf` exists; `kubeadm token create`, `upload-certs`,
`docker/crio info`, `calicoctl get` (not found) and the first etcd health check (unhealthy: a new
cluster) have realistic outputs.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import posixpath
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

# The engine's hook, re-exported: a module call in, a result out (None: the engine's default).
from kvalidate.ansible.loader import plain_yaml
from kvalidate.ansible.types import ModuleCall as ModuleCall
from kvalidate.ansible.types import Simulator as Simulator
from kvalidate.model import SetupError

# Modules the engine evaluates itself; the simulator declines them (returns None).
ENGINE_MODULES = frozenset({
    "set_fact", "include_vars", "include_tasks", "import_tasks", "include_role", "import_role",
    "include", "group_by", "add_host", "meta", "assert", "fail", "debug", "template",
})


# oracle render.py ARGS_MATTER: the simulated modules whose arguments the oracle templates (its rules
# look at them). Every other simulated task keeps its arguments untemplated (`!unsafe`), so an
# undefined variable there fails nothing; templating them also costs seconds (`downloads`).
ARGS_MATTER = frozenset({"stat", "slurp", "command", "shell", "raw", "script", "uri", "find", "wait_for"})
# oracle_sim.py: the argument form of a template rendered for a module argument (kubectl stdin)
LOOKUP_TEMPLATE = re.compile(r"""lookup\(\s*['"](?:ansible\.builtin\.)?template['"]\s*,\s*([^,)]+)""")


def templates_args(module: str, raw_args: Mapping[str, Any]) -> bool:
    """Does the oracle template this simulated task's arguments? (render.py `_args_matter`)."""
    m = module.removeprefix("ansible.builtin.").removeprefix("ansible.legacy.")
    if m in ARGS_MATTER or (m == "copy" and "content" in raw_args):
        return True
    return "lookup(" in json.dumps(dict(raw_args), default=str)


def lookup_capture_name(raw_value: str, task_vars: Mapping[str, Any], task_label: str,
                        loop_var: str = "item") -> str | None:
    """The name under which the oracle captures `lookup('template', T)` in a raw argument:
    T's value when T is a variable holding a string (`item`), T itself when quoted, else
    `TASK-ITEM`. None when the argument holds no template lookup. kvalidate writes the capture
    to `--emit DIR/HOST/_lookup/ROLE/NAME`."""
    m = LOOKUP_TEMPLATE.search(raw_value)
    if not m:
        return None
    term = m.group(1).strip()
    if isinstance(task_vars.get(term), str):
        return str(task_vars[term])
    if term.strip("'\"") != term:
        return term.strip("'\"")
    return f"{task_label}-{task_vars.get(loop_var, '')}"


# Modules whose real result carries the `dest`/`path` they were given (ansible.builtin docs, RETURN).
ECHO_MODULES = frozenset({"copy", "file", "lineinfile", "blockinfile", "get_url", "unarchive", "fetch",
                          "assemble", "replace", "synchronize"})


@dataclass(frozen=True)
class SimRule:
    module: str
    match: Mapping[str, str]
    result: Mapping[str, Any]


@dataclass(frozen=True)
class SimRules:
    rules: tuple[SimRule, ...]
    defaults: Mapping[str, Mapping[str, Any]]


def short_name(module: str) -> str:
    """`ansible.builtin.command` -> `command` (the oracle keeps the last dotted part)."""
    return module.rsplit(".", 1)[-1]


def parse_rules(data: Any, source: str = "sim rules") -> SimRules:
    """A sim-rules mapping (`rules:` list, `defaults:` per module) -> SimRules."""
    if not isinstance(data, dict):
        raise SetupError(f"{source}: expected a mapping with `rules` and `defaults`")
    rules = []
    for i, r in enumerate(data.get("rules") or []):
        if not isinstance(r, dict) or not isinstance(r.get("match", {}), dict):
            raise SetupError(f"{source}: rule {i} is not a mapping with a `match` mapping")
        rules.append(SimRule(str(r.get("module", "*")), dict(r.get("match") or {}), dict(r.get("result") or {})))
    defaults = data.get("defaults") or {}
    if not isinstance(defaults, dict):
        raise SetupError(f"{source}: `defaults` is not a mapping")
    return SimRules(tuple(rules), {str(k): dict(v or {}) for k, v in defaults.items()})


def _packaged(name: str) -> SimRules:
    text = resources.files("kvalidate.kubespray").joinpath("data", name).read_text("utf-8")
    # libyaml (CSafeLoader): the same data as safe_load, ~10x faster (tests/kubespray compares them),
    # kept across runs (`plain_yaml`)
    return parse_rules(plain_yaml(text), f"kvalidate/kubespray/data/{name}")


@cache
def oracle_rules() -> SimRules:
    """Exactly the oracle's rules (`data/sim-rules.yml`)."""
    return _packaged("sim-rules.yml")


@cache
def default_rules() -> SimRules:
    """kvalidate's rules: `data/sim-rules-extra.yml` first, then the oracle's. The extras only let
    tasks succeed that fail on empty simulated output (etcd cert serial, `ctr oci spec`, the CA
    that kubeadm-client.conf hashes), so they add renderings and change none of the oracle's."""
    extra = _packaged("sim-rules-extra.yml")
    base = oracle_rules()
    return SimRules(extra.rules + base.rules, {**base.defaults, **extra.defaults})


def load_rules(path: Path) -> SimRules:
    """A user's sim-rules file (same format as the oracle's), e.g. for an upgrade state."""
    try:
        return parse_rules(yaml.safe_load(path.read_text(encoding="utf-8")), str(path))
    except (OSError, yaml.YAMLError) as e:
        raise SetupError(f"cannot read sim rules {path}: {e}") from e


def _flatten_args(args: Mapping[str, Any]) -> str:
    parts = []
    for k, v in sorted(args.items()):
        parts.append(f"{k}={v if isinstance(v, str) else json.dumps(v, default=str, sort_keys=True)}")
    return " ".join(parts)


def _task_label(call: ModuleCall) -> str:
    return f"{call.role} : {call.task_name}" if call.role else call.task_name


def matches(rule: SimRule, call: ModuleCall) -> bool:
    mod = short_name(call.module)
    if rule.module != "*" and not re.fullmatch(rule.module, mod):
        return False
    for key, pat in rule.match.items():
        if key == "_task":
            value: Any = _task_label(call)
        elif key == "_any":
            value = _flatten_args(call.args)
        else:
            value = call.args.get(key)
            if value is None:
                return False
            if not isinstance(value, str):
                value = json.dumps(value, default=str, sort_keys=True)
        if not re.search(pat, value):
            return False
    return True


# (id of a rules tuple, module) -> (that tuple, its rules whose `module` matches, in order)
_MODULE_RULES: dict[tuple[int, str], tuple[tuple[SimRule, ...], tuple[SimRule, ...]]] = {}


def _module_rules(rules: tuple[SimRule, ...], mod: str) -> tuple[SimRule, ...]:
    """The rules that may match a call of module `mod` (`matches`'s module test, done once per
    module): the first of them that `matches` is the first of all rules that does."""
    hit = _MODULE_RULES.get((id(rules), mod))
    if hit is not None and hit[0] is rules:
        return hit[1]
    out = tuple(r for r in rules if r.module == "*" or re.fullmatch(r.module, mod))
    if len(_MODULE_RULES) > 4096:
        _MODULE_RULES.clear()
    _MODULE_RULES[(id(rules), mod)] = (rules, out)
    return out


def _finish(result: dict[str, Any]) -> dict[str, Any]:
    for k in ("stdout", "stderr"):
        if k in result and f"{k}_lines" not in result:
            result[f"{k}_lines"] = str(result[k]).splitlines()
    if "content_text" in result:
        result["content"] = base64.b64encode(str(result.pop("content_text")).encode()).decode()
        result.setdefault("encoding", "base64")
    return result


def simulate(call: ModuleCall, rules: SimRules | None = None) -> dict[str, Any] | None:
    """The simulated result of `call`; None for modules the engine runs itself."""
    mod = short_name(call.module)
    if mod in ENGINE_MODULES:
        return None
    rs = rules or default_rules()
    chosen: Mapping[str, Any] | None = None
    for rule in _module_rules(rs.rules, mod):
        if matches(rule, call):
            chosen = rule.result
            break
    if chosen is None:
        chosen = rs.defaults.get(mod, rs.defaults.get("*", {}))
    result = copy.deepcopy(dict(chosen))
    result.setdefault("changed", False)
    # file-writing modules report where they wrote (kubeadm_common reads `results | map(attribute='dest')`)
    for key in ("dest", "path"):
        if key in call.args and mod in ECHO_MODULES and key not in result:
            result[key] = call.args[key]
    return _finish(result)


def with_written_files(sim: Simulator, written: Callable[[str, str], str | None]) -> Simulator:
    """`sim`, except that `stat` and `slurp` see the files this run wrote: `written(host, path)`
    gives a file's text or None. Kubespray up to 2.27 stats the nginx/haproxy config it has just
    rendered and puts `stat.checksum` (sha1, as ansible's stat) in the static pod's annotation; the
    CSI drivers slurp the cloud config they have just rendered into a Secret. A `copy` of a
    controller file (`src:`, no `remote_src`) writes its destination too: with a placeholder text,
    as the file is the user's (`gcp_pd_csi_sa_cred_file`)."""
    copied: dict[tuple[str, str], str] = {}

    def text_of(host: str, path: str) -> str | None:
        path = posixpath.normpath(path)
        text = written(host, path)
        return text if text is not None else copied.get((host, path))

    def stateful(call: ModuleCall) -> dict[str, Any] | None:
        module = short_name(call.module)
        path = call.args.get("path")
        if module == "stat" and isinstance(path, str):
            text = text_of(call.host, path)
            if text is not None:
                data = text.encode()
                return {"changed": False, "stat": {
                    "exists": True, "path": path, "isreg": True, "isdir": False, "islnk": False,
                    "size": len(data), "checksum": hashlib.sha1(data).hexdigest(),  # noqa: S324 - ansible's
                    "mode": "0644", "pw_name": "root", "readable": True, "writeable": True}}
        src = call.args.get("src")
        if module == "slurp" and isinstance(src, str):
            text = text_of(call.host, src)
            if text is not None:
                return {"changed": False, "content": base64.b64encode(text.encode()).decode(), "encoding": "base64",
                        "source": src}
        dest = call.args.get("dest")
        if module == "copy" and isinstance(src, str) and isinstance(dest, str) and not call.args.get("remote_src") \
                and "content" not in call.args:
            target = posixpath.join(dest, posixpath.basename(src)) if dest.endswith("/") else dest
            copied[(call.host, posixpath.normpath(target))] = f"(the controller's file {src})\n"
        return sim(call)

    return stateful


def make_simulator(rules: SimRules | None = None) -> Simulator:
    """A `Simulator` over `rules` (default: the oracle's fresh-host rules)."""

    def sim(call: ModuleCall) -> dict[str, Any] | None:
        return simulate(call, rules)

    return sim
