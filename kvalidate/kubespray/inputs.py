"""Everything a cell hands to the Ansible engine, as plain data, before `playbooks/cluster.yml` runs
(`kvalidate.run.cell` runs it).

`cell_inputs` turns a `CellSpec` into hosts and groups (static only: Kubespray's own
`dynamic_groups`/`group_by` tasks make k8s_cluster and `_kubespray_needs_etcd` during the run),
group_vars and host_vars read from the tree, simulated facts, extra vars, the fresh-host module
simulator, and the fixed answers of lookups with side effects or secrets.

Oracle parity (the reference renderer that runs real Ansible, so that renderings compare byte for byte;
docs/fidelity.md):
- `credentials_dir` files are seeded: `kube_encrypt_token.creds` and
  `kubeadm_certificate_key.creds` hold fixed values (`lookup('password')` reads an existing file);
- `lookup('env')` sees an empty environment (the oracle ran without `CI_PROJECT_URL`, `OS_*`);
- group_vars are loaded for every name found in the group_vars directory, also groups made at run
  time by `group_by` (ansible-core loads host_group_vars on demand, so `group_vars/k8s_cluster/`
  applies once dynamic_groups has created the group).
"""

from __future__ import annotations

import posixpath
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from kvalidate.ansible.inventory import Group, Inventory
from kvalidate.ansible.inventory_file import vars_files
from kvalidate.kubespray.checkout import Checkout, declared_kube_version
from kvalidate.kubespray.facts import inventory_facts, ipv6_overlay
from kvalidate.kubespray.playbooks import facts_playbook
from kvalidate.kubespray.scenario import CellSpec, read_vars_file
from kvalidate.kubespray.simulate import SimRules, Simulator, make_simulator
from kvalidate.trees.directory import Tree

# the reference renderer's inventory preparation: deterministic `lookup('password', credentials_dir ...)`
PASSWORD_SEEDS: dict[str, str] = {
    "kube_encrypt_token.creds": "OracleDeterministicEncryptToken0",
    "kubeadm_certificate_key.creds": "0c0ffee0" * 8,
}
# the reference renderer's skip_task_files: task files it empties. The download role only fetches binaries
# and images, its set_facts feed no template, and in Ansible templating `downloads` took ~85 % of a
# run. One template is lost with them (download's kubeadm-images.yaml): apply for parity only.
SKIP_TASK_FILES = ("roles/download/tasks/*",)
# What kvalidate empties by default: the download role's fetching (per file and image: URLs,
# checksums, pulls), which renders nothing and only adds time and noise. The role's main.yml,
# prep_download.yml and prep_kubeadm_images.yml still run, so kubeadm-images.yaml is rendered.
FETCH_TASK_FILES = (
    "roles/download/tasks/download_*.yml", "roles/download/tasks/extract_file.yml",
    "roles/download/tasks/check_pull_required.yml", "roles/download/tasks/set_container_facts.yml",
)

@dataclass(frozen=True)
class CellInputs:
    checkout: Checkout
    cell: CellSpec
    hosts: tuple[str, ...]  # groups['all'] order
    groups: Mapping[str, tuple[str, ...]]  # direct members, before the run's group_by tasks
    children: Mapping[str, tuple[str, ...]]
    group_vars: Mapping[str, Mapping[str, Any]]  # group name -> vars (raw, untemplated)
    host_vars: Mapping[str, Mapping[str, Any]]
    facts: Mapping[str, Mapping[str, Any]]  # host -> `setup`'s ansible_facts (ansible_ prefixed keys)
    extra_vars: Mapping[str, Any]
    simulator: Simulator
    playbook: str  # tree path
    custom_sim_rules: bool = False  # the simulator answers from rules other than the default ones
    passwords: Mapping[str, str] = field(default_factory=lambda: dict(PASSWORD_SEEDS))
    environment: Mapping[str, str] = field(default_factory=dict)
    skip_task_files: tuple[str, ...] = SKIP_TASK_FILES  # fnmatch patterns of tree paths
    limit: str = ""  # ansible-playbook --limit pattern ("" = every host)
    fact_cache: str = ""  # with a limit: "facts.yml" (run facts_playbook first) or "none"
    facts_playbook: str = ""  # tree path of the checkout's facts playbook ("" if none)


def read_vars_dir(tree: Tree, directory: str | None) -> dict[str, dict[str, Any]]:
    """Every entity of a group_vars/ or host_vars/ directory -> its merged vars (later files
    replace top-level keys, as ansible-core's combine_vars does with hash_behaviour=replace)."""
    out: dict[str, dict[str, Any]] = {}
    if not directory:
        return out
    names = dict.fromkeys(posixpath.splitext(n)[0] if tree.is_file(f"{directory}/{n}") else n
                          for n in tree.list_dir(directory) if not n.startswith("."))
    for name in names:
        merged: dict[str, Any] = {}
        for f in vars_files(tree, directory, name):
            merged.update(read_vars_file(tree, f))
        out[name] = merged
    return out


def wants_ipv6(cell: CellSpec, group_vars: Mapping[str, Mapping[str, Any]]) -> bool:
    """Does the cell turn `ipv6_stack` on literally (extra vars, else group_vars)? Its hosts then
    need a default IPv6 route (`facts.ipv6_overlay`, the oracle's facts-ipv6.yml), or every host
    falls back to `::1`."""
    for source in (cell.extra_vars, *group_vars.values()):
        if "ipv6_stack" in source:
            return str(source["ipv6_stack"]).lower() in ("true", "yes", "1")
    return False


def cell_inputs(checkout: Checkout, cell: CellSpec, facts_overlays: Sequence[Mapping[str, Any]] = (),
                sim_rules: SimRules | None = None, host_vars_dir: str | None = None) -> CellInputs:
    """The engine's inputs for `cell` on `checkout`. An IPv6 cell gets the IPv6 facts overlay first
    unless an overlay already sets `auto.ipv6_network`."""
    inv = cell.inventory
    host_vars: dict[str, dict[str, Any]] = {h: dict(v) for h, v in inv.host_vars.items()}
    for h, v in read_vars_dir(checkout.tree, host_vars_dir).items():
        host_vars[h] = {**host_vars.get(h, {}), **v}
    group_vars: dict[str, dict[str, Any]] = read_vars_dir(checkout.tree, cell.group_vars_dir)
    for g, gv in cell.group_vars.items():
        group_vars[g] = {**group_vars.get(g, {}), **gv}
    overlays = list(facts_overlays)
    if wants_ipv6(cell, group_vars) and not any("ipv6_network" in (o.get("auto") or {}) for o in overlays):
        overlays.insert(0, ipv6_overlay())
    return CellInputs(
        checkout=checkout, cell=cell, hosts=inv.hosts, groups=inv.groups, children=inv.children,
        group_vars=group_vars, host_vars=host_vars,
        facts=inventory_facts(inv.hosts, cell.os, overlays), extra_vars=dict(cell.extra_vars),
        simulator=make_simulator(sim_rules), custom_sim_rules=sim_rules is not None,
        playbook=cell.playbook or checkout.playbook,
        limit=cell.limit, fact_cache=cell.fact_cache, facts_playbook=facts_playbook(checkout) if cell.limit else "",
    )


def engine_inventory(inputs: CellInputs) -> Inventory:
    """The engine's inventory: groups keep their member order (legacy layouts list etcd as
    instance-3,1,2), group_vars sit on their groups (also on groups `group_by` fills later)."""
    groups: dict[str, Group] = {g: Group(g, list(m)) for g, m in inputs.groups.items()}
    for parent, kids in inputs.children.items():
        grp = groups.setdefault(parent, Group(parent))
        for kid in kids:
            groups.setdefault(kid, Group(kid))
            if kid not in grp.children:
                grp.children.append(kid)
    for g, gv in inputs.group_vars.items():
        groups.setdefault(g, Group(g)).vars.update(gv)
    return Inventory(inputs.hosts, groups, inputs.host_vars, inputs.facts, source=inputs.cell.inventory_source)


def cell_kube_version(inputs: CellInputs) -> str:
    """The cell's `kube_version` without running it: extra vars, group_vars, else the role default
    (on 2.28+ the first checksummed version, which is what the default's template yields); ""
    when an override is itself a template."""
    return declared_kube_version(inputs.checkout, inputs.extra_vars, inputs.group_vars)
