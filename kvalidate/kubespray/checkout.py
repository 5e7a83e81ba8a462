"""Recognise a Kubespray checkout and read its branch differences from the tree itself.

Nothing here is keyed on a version number: each fact is found where the branch keeps it:

- the defaults role: `roles/kubespray_defaults` (2.28+; `kubespray-defaults` is then a tasks-only
  shim) or `roles/kubespray-defaults` (<= 2.27);
- the task file that sets the hosts' addresses: `roles/network_facts/tasks/main.yaml` (2.28+,
  `main_ip`), `roles/kubespray-defaults/tasks/main.yaml` (2.24..2.27, `fallback_ip`),
  `.../tasks/fallback_ips.yml` (<= 2.23);
- the checksums table (`kubelet_checksums` etc.): `roles/kubespray_defaults/vars/main/` (role vars,
  2.28+), `roles/kubespray-defaults/defaults/main/` (2.24..2.27), `roles/download/defaults/main/`
  (<= 2.23); its `kubelet_checksums.amd64` keys are the supported Kubernetes versions;
- the kubeadm config templates present (`kubeadm-config.v1beta3/v1beta4.yaml.j2`);
- how `k8s_cluster` and friends are made: `roles/dynamic_groups` (2.29+), a `group_by` loop in
  `playbooks/boilerplate.yml` (2.24..2.28, `_all` fallback key), or `playbooks/legacy_groups.yml`
  (<= 2.23: old names only; the inventory itself must declare `k8s_cluster:children`);
- the group names themselves: until spring 2021 the inventory's groups were `kube-master`,
  `kube-node`, `k8s-cluster`, `calico-rr` (no mapping existed yet); the sample inventory
  (`inventory/sample/inventory.ini`) says which names the checkout's plays use.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

from kvalidate.ansible.loader import plain_yaml
from kvalidate.model import SetupError
from kvalidate.trees.directory import Tree, TreeError

_KUBEADM_TPL = re.compile(r"^kubeadm-config\.(v1beta\d+)\.yaml\.j2$")
CONTROL_PLANE_TEMPLATES = "roles/kubernetes/control-plane/templates"


@dataclass(frozen=True)
class Checkout:
    tree: Tree
    playbook: str  # "playbooks/cluster.yml" (or the root cluster.yml of very old trees)
    defaults_role: str  # "kubespray_defaults" | "kubespray-defaults"
    network_facts: str  # task file setting main_ip / fallback_ip ("" if not found)
    checksums_file: str  # "" if not found
    checksums_are_role_vars: bool  # role vars beat inventory group_vars; role defaults do not
    kubeadm_config_versions: tuple[str, ...]  # ("v1beta3", "v1beta4"), oldest first
    group_mappings: dict[str, tuple[str, ...]]  # group_by key -> groups whose hosts join it
    group_fallback: str | None  # "_all" where the group_by key is a ternary over it
    inventory_needs_k8s_cluster: bool  # the checkout does not compute k8s_cluster itself
    kube_versions: tuple[str, ...]  # kubelet_checksums.amd64 keys, newest first
    default_kube_version: str  # role default (derived from the checksums on 2.28+)
    sample_kube_version: str  # inventory/sample pin ("" when the sample sets none)
    ansible_version: str = ""  # the ansible-core version runs report ("" -> the engine's own)
    ci_inventory_dir: str = ""  # checkout dir holding CI's inventory (its group_vars apply), "" if outside
    group_names: Mapping[str, str] = field(default_factory=dict)  # today's group name -> this checkout's, if older

    @property
    def kube_minors(self) -> tuple[str, ...]:
        """Supported minors, newest first: ("1.36", "1.35", "1.34")."""
        return tuple(dict.fromkeys(minor(v) for v in self.kube_versions))


def minor(version: str) -> str:
    """"v1.31.9" or "1.31.9" -> "1.31"."""
    parts = version.lstrip("v").split(".")
    return ".".join(parts[:2])


def _yaml(tree: Tree, path: str) -> Any:
    try:
        return plain_yaml(tree.read_text(path))  # libyaml, kept across runs (ansible.loader)
    except (TreeError, yaml.YAMLError):
        return None


def _yaml_files(tree: Tree, directory: str) -> list[str]:
    """`directory/main.yml` style role dirs: the file itself, or the files of `main/`."""
    out = [f"{directory}/{n}" for n in ("main.yml", "main.yaml") if tree.is_file(f"{directory}/{n}")]
    sub = f"{directory}/main"
    out += [f"{sub}/{n}" for n in tree.list_dir(sub) if n.endswith((".yml", ".yaml"))]
    return out


def _defaults_role(tree: Tree) -> str:
    for name in ("kubespray_defaults", "kubespray-defaults"):
        if tree.is_dir(f"roles/{name}/defaults"):
            return name
    raise SetupError(f"{tree.label} is not a Kubespray checkout: no roles/kubespray_defaults/defaults "
                     "or roles/kubespray-defaults/defaults")


def _network_facts(tree: Tree, role: str) -> str:
    cands = [f"roles/network_facts/tasks/{n}" for n in tree.list_dir("roles/network_facts/tasks")]
    for r in dict.fromkeys((role, "kubespray-defaults", "kubespray_defaults")):
        cands += [f"roles/{r}/tasks/{n}" for n in tree.list_dir(f"roles/{r}/tasks")]
    for path in cands:
        if path.endswith((".yml", ".yaml")) and tree.is_file(path):
            text = tree.read_text(path)
            if re.search(r"^\s+(main_ip|fallback_ips?):", text, re.M):
                return path
    return ""


def _checksums(tree: Tree, role: str) -> tuple[str, bool, dict[str, Any]]:
    for directory, is_vars in ((f"roles/{role}/vars", True), (f"roles/{role}/defaults", False),
                               ("roles/download/defaults", False)):
        for path in _yaml_files(tree, directory):
            data = _yaml(tree, path)
            if isinstance(data, dict) and isinstance(data.get("kubelet_checksums"), dict):
                return path, is_vars, data
    return "", False, {}


def _tasks(node: Any) -> Iterator[dict[str, Any]]:
    """Every task dict of a task list or play list, blocks and play sections included."""
    if isinstance(node, list):
        for x in node:
            yield from _tasks(x)
    elif isinstance(node, dict):
        yield node
        for k in ("block", "rescue", "always", "tasks", "pre_tasks", "post_tasks"):
            yield from _tasks(node.get(k))


def _group_by(task: dict[str, Any]) -> Any:
    return task.get("group_by", task.get("ansible.builtin.group_by"))


def _group_mappings(tree: Tree) -> tuple[dict[str, tuple[str, ...]], str | None, bool]:
    for path in ("roles/dynamic_groups/tasks/main.yml", "playbooks/boilerplate.yml"):
        for task in _tasks(_yaml(tree, path)):
            tvars = task.get("vars")
            gm = tvars.get("group_mappings") if isinstance(tvars, dict) else None
            if _group_by(task) is None or not isinstance(gm, dict):
                continue
            found = {str(k): tuple(str(x) for x in v or ()) for k, v in gm.items()}
            key = str((_group_by(task) or {}).get("key", ""))
            m = re.search(r"ternary\(\s*item\.key\s*,\s*['\"]([^'\"]+)['\"]", key)
            computes = "kube_node" in found.get("k8s_cluster", ())
            return found, (m.group(1) if m else None), not computes
    mappings: dict[str, tuple[str, ...]] = {}
    plays = _yaml(tree, "playbooks/legacy_groups.yml")
    for play in plays if isinstance(plays, list) else []:
        if not isinstance(play, dict) or not isinstance(play.get("hosts"), str):
            continue
        for task in _tasks(play.get("tasks")):
            gb = _group_by(task)
            if isinstance(gb, dict) and isinstance(gb.get("key"), str):
                mappings.setdefault(gb["key"], ())
                mappings[gb["key"]] += (play["hosts"],)
    return mappings, None, True


def _literal_var(tree: Tree, paths: list[str], name: str) -> str:
    for path in paths:
        data = _yaml(tree, path)
        if isinstance(data, dict) and name in data:
            return str(data[name])
    return ""


CI_DEFINITIONS = (".gitlab-ci.yml", "tests/scripts/testcases_run.sh")
_CI_INVENTORY = re.compile(r"ANSIBLE_INVENTORY\s*[:=]\s*[\"']?(?:\$\{?CI_PROJECT_DIR\}?/|\./)?([^\s\"']+)")


def ci_inventory_dir(tree: Tree) -> str:
    """Where the checkout's CI puts the inventory it runs on, when that is inside the checkout:
    release-2.23 `.gitlab-ci.yml` `ANSIBLE_INVENTORY: ./inventory/sample/${CI_JOB_NAME}-${BUILD_NUMBER}.ini`,
    release-2.27 `testcases_run.sh` `ANSIBLE_INVENTORY=${CI_PROJECT_DIR}/inventory/sample/`: the
    sample's group_vars then apply to every CI scenario. Master uses `/tmp/inventory` (none)."""
    for path in CI_DEFINITIONS:
        if not tree.is_file(path):
            continue
        for m in _CI_INVENTORY.finditer(tree.read_text(path)):
            value = m.group(1)
            if value.startswith("/") or "$" in value.split("/")[0]:
                continue
            directory = value.rstrip("/") if value.endswith("/") else posixpath.dirname(value)
            if directory and tree.is_dir(directory):
                return directory
    return ""


# today's group name -> the names it had, newest first (renamed in March-April 2021)
GROUP_RENAMES: dict[str, tuple[str, ...]] = {
    "kube_control_plane": ("kube-master",),
    "kube_node": ("kube-node",),
    "k8s_cluster": ("k8s-cluster",),
    "calico_rr": ("calico-rr",),
}
SAMPLE_INVENTORY = "inventory/sample/inventory.ini"
_INI_GROUP = re.compile(r"^\[([^\]:]+)(?::children)?\]", re.M)


def inventory_group_names(tree: Tree) -> dict[str, str]:
    """The group names of the checkout's sample inventory that are older than today's: today's name ->
    the checkout's (`{"kube_control_plane": "kube-master", ...}` in 2020), only where they differ.
    A checkout whose sample uses today's names (or has none) gets {}."""
    if not tree.is_file(SAMPLE_INVENTORY):
        return {}
    headers = set(_INI_GROUP.findall(tree.read_text(SAMPLE_INVENTORY)))
    out: dict[str, str] = {}
    for name, old in GROUP_RENAMES.items():
        if name not in headers:
            found = next((o for o in old if o in headers), None)
            if found is not None:
                out[name] = found
    return out


ANSIBLE_VERSION_PLAYBOOKS = ("playbooks/ansible_version.yml", "ansible_version.yml")


def accepted_ansible_version(tree: Tree) -> str:
    """The ansible-core version the checkout's own check accepts: its `minimal_ansible_version`
    (playbooks/ansible_version.yml asserts `minimal <= ansible_version.string < maximal`). The
    engine's semantics stay 2.18's; only the reported `ansible_version` follows the checkout, so
    that a version check a user cannot fix is no finding. requirements.txt is not read: it pins the
    `ansible` package (9.13.0), whose ansible-core version it does not say. "" if not found."""
    for path in ANSIBLE_VERSION_PLAYBOOKS:
        plays = _yaml(tree, path) if tree.is_file(path) else None
        for play in plays if isinstance(plays, list) else []:
            pvars = play.get("vars") if isinstance(play, dict) else None
            low = pvars.get("minimal_ansible_version") if isinstance(pvars, dict) else None
            if low is not None and re.fullmatch(r"\d+(\.\d+){1,2}", str(low)):
                return str(low)
    return ""


def open_checkout(tree: Tree) -> Checkout:
    """Read a Kubespray checkout; SetupError (one line) if `tree` is not one."""
    playbook = next((p for p in ("playbooks/cluster.yml", "cluster.yml") if tree.is_file(p)), "")
    if not playbook or not tree.is_dir("roles"):
        raise SetupError(f"{tree.label} is not a Kubespray checkout: no playbooks/cluster.yml and roles/")
    role = _defaults_role(tree)
    cpath, is_vars, cdata = _checksums(tree, role)
    kubelet = cdata.get("kubelet_checksums", {}) if cdata else {}
    amd64 = kubelet.get("amd64") if isinstance(kubelet, dict) else None
    versions = tuple(str(k) for k in amd64) if isinstance(amd64, dict) else ()
    default = _literal_var(tree, _yaml_files(tree, f"roles/{role}/defaults"), "kube_version")
    if "{{" in default or not default:  # 2.28+: "{{ (kubelet_checksums['amd64'] | dict2items)[0].key }}"
        default = versions[0] if versions else ""
    sample = _literal_var(tree, [f"inventory/sample/group_vars/{g}/k8s-cluster.yml"
                                 for g in ("k8s_cluster", "k8s-cluster")], "kube_version")
    mappings, fallback, needs_static = _group_mappings(tree)
    kubeadm = sorted(m.group(1) for n in tree.list_dir(CONTROL_PLANE_TEMPLATES)
                     if (m := _KUBEADM_TPL.match(n)))
    return Checkout(
        tree=tree, playbook=playbook, defaults_role=role, network_facts=_network_facts(tree, role),
        checksums_file=cpath, checksums_are_role_vars=is_vars,
        kubeadm_config_versions=tuple(kubeadm), group_mappings=mappings, group_fallback=fallback,
        inventory_needs_k8s_cluster=needs_static, kube_versions=versions,
        default_kube_version=default, sample_kube_version="" if "{{" in sample else sample,
        ansible_version=accepted_ansible_version(tree), ci_inventory_dir=ci_inventory_dir(tree),
        group_names=inventory_group_names(tree),
    )


# Playbooks that install a new cluster: `kubeadm init` runs on the first control plane during the run
FRESH_INSTALL_PLAYBOOKS = ("cluster.yml",)


def fresh_install(playbook: str) -> bool:
    """Does a run of `playbook` (a tree path: "playbooks/cluster.yml") install a new cluster? The one
    place this is decided: `cluster.yml` (the default) is taken as a fresh install, as CI runs it on new
    machines; upgrade-cluster.yml, scale.yml, recover-control-plane.yml, remove-node.yml and reset.yml
    run against a cluster that exists."""
    return posixpath.basename(playbook) in FRESH_INSTALL_PLAYBOOKS


def version_for_minor(checkout: Checkout, wanted: str) -> str:
    """The newest checksummed version of minor `wanted` ("1.35" or "v1.35"), spelled as the
    branch spells versions ("1.35.2" on 2.28+, "v1.30.6" before); SetupError if unsupported."""
    want = minor(wanted)
    for v in checkout.kube_versions:  # newest first
        if minor(v) == want:
            return v
    raise SetupError(f"Kubernetes {want} is not supported by {checkout.tree.label} "
                     f"(supported: {', '.join(checkout.kube_minors) or 'none found'})")


def declared_kube_version(checkout: Checkout, extra_vars: Mapping[str, Any],
                          group_vars: Mapping[str, Mapping[str, Any]]) -> str:
    """`kube_version` before any run, when it is a literal: extra vars, then inventory group_vars
    (a child group beats `all`), then the role default. "" when only a template says it."""
    cluster = checkout.group_names.get("k8s_cluster", "k8s_cluster")
    for source in (extra_vars, *(group_vars.get(g, {}) for g in (cluster, "all"))):
        if "kube_version" in source:
            v = str(source["kube_version"])
            return "" if "{{" in v else v
    return checkout.default_kube_version
