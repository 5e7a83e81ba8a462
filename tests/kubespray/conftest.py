"""Small Kubespray-shaped trees written here (no Kubespray code), one per branch family.

Each flavour keeps only what `kvalidate.kubespray` reads: where the defaults role, the network
facts, the checksums and the kubeadm templates live, how dynamic groups are made, and the CI
scenario files and layouts.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from kvalidate.kubespray.checkout import Checkout, open_checkout
from kvalidate.trees.directory import DirTree

_GROUP_BY_LOOP = """\
- name: Match needed groups
  vars:
    group_mappings:
      kube_control_plane: [kube-master]
      kube_node: [kube-node]
      k8s_cluster: [kube_node, kube_control_plane, calico_rr]
  group_by:
    key: {key}
  loop: "{{{{ group_mappings | dict2items }}}}"
"""

_COMMON = {
    "tests/files/demo-aio.yml": "cloud_image: debian-12\nmode: all-in-one\nkube_network_plugin: cilium\n",
    "tests/files/demo-aio": "RESET_CHECK=true\n",
    "tests/files/demo-default.yml": "cloud_image: almalinux-9\nmetrics_server_enabled: true\n",
    "tests/files/demo-layout.yml": (
        "cloud_image: ubuntu-2404\ncluster_layout:\n  - node_groups: [kube_control_plane]\n"
        "  - node_groups: [kube_node]\n  - node_groups: [etcd]\n  - node_groups: [etcd]\n"),
    "tests/files/demo-dual.yml": "cloud_image: ubuntu-2404\nipv6_stack: true\n",
    "tests/files/demo-dual.rb": "$num_instances = 3\n",
    "inventory/sample/group_vars/all/all.yml": "bin_dir: /usr/local/bin\n",
}

FLAVOURS: dict[str, dict[str, str]] = {
    "master": {
        "playbooks/cluster.yml": "- hosts: all\n  roles: [kubespray_defaults]\n",
        "roles/kubespray_defaults/defaults/main/main.yml":
            "kube_version: \"{{ (kubelet_checksums['amd64'] | dict2items)[0].key }}\"\n",
        "roles/kubespray_defaults/vars/main/checksums.yml":
            "kubelet_checksums:\n  arm64:\n    1.36.1: a\n  amd64:\n    1.36.1: a\n    1.35.2: b\n"
            "    1.35.0: c\n    1.34.0: d\n",
        "roles/kubespray-defaults/tasks/main.yml": "- import_role: {name: kubespray_defaults}\n",
        "roles/network_facts/tasks/main.yaml":
            "- set_fact:\n    main_ip: \"{{ ansible_default_ipv4.address }}\"\n",
        "roles/dynamic_groups/tasks/main.yml": _GROUP_BY_LOOP.format(key='"{{ item.key }}"'),
        "roles/kubernetes/control-plane/templates/kubeadm-config.v1beta4.yaml.j2": "kind: X\n",
        "tests/common_vars.yml": "dns_min_replicas: 1\nkube_network_plugin: calico\n",
        ".gitlab-ci.yml": "variables:\n  ANSIBLE_INVENTORY: /tmp/inventory\n",
        "tests/cloud_playbooks/roles/packet-ci/vars/main.yml":
            "scenarios:\n  default:\n    - node_groups: [kube_control_plane, etcd]\n"
            "    - node_groups: [kube_node]\n  all-in-one:\n"
            "    - node_groups: [kube_control_plane, etcd, kube_node]\n",
        **_COMMON,
    },
    "2.27": {
        "playbooks/cluster.yml": "- hosts: all\n",
        "playbooks/boilerplate.yml": "- hosts: all\n  tasks:\n" + "".join(
            "    " + line + "\n" for line in _GROUP_BY_LOOP.format(
                key="\"{{ (group_names | intersect(item.value) | length > 0) | ternary(item.key, '_all') }}\""
            ).splitlines()),
        "roles/kubespray-defaults/defaults/main/main.yml": "kube_version: v1.31.2\n",
        "roles/kubespray-defaults/defaults/main/checksums.yml":
            "kubelet_checksums:\n  amd64:\n    v1.31.2: a\n    v1.30.0: b\n    v1.29.0: c\n",
        "roles/kubespray-defaults/tasks/main.yaml": "- set_fact:\n    fallback_ip: 127.0.0.1\n",
        "roles/kubernetes/control-plane/templates/kubeadm-config.v1beta3.yaml.j2": "kind: X\n",
        "roles/kubernetes/control-plane/templates/kubeadm-config.v1beta4.yaml.j2": "kind: X\n",
        "inventory/sample/group_vars/k8s_cluster/k8s-cluster.yml": "kube_version: v1.31.1\n",
        "tests/common_vars.yml": "dns_min_replicas: 1\n",
        "tests/scripts/testcases_run.sh": "export ANSIBLE_INVENTORY=${CI_PROJECT_DIR}/inventory/sample/\n",
        "tests/cloud_playbooks/roles/packet-ci/vars/main.yml":
            "scenarios:\n  default:\n    - [kube_control_plane, etcd]\n    - [kube_node]\n"
            "  all-in-one:\n    - [kube_control_plane, etcd, kube_node]\n",
        **_COMMON,
    },
    "2.23": {
        "playbooks/cluster.yml": "- hosts: all\n",
        "playbooks/legacy_groups.yml": "".join(
            f"- hosts: {old}\n  tasks:\n    - group_by:\n        key: '{new}'\n"
            for old, new in (("kube-master", "kube_control_plane"), ("kube-node", "kube_node"),
                             ("k8s-cluster", "k8s_cluster"))),
        "roles/kubespray-defaults/defaults/main.yaml": "kube_version: v1.27.3\n",
        "roles/kubespray-defaults/tasks/fallback_ips.yml": "- set_fact:\n    fallback_ips: {}\n",
        "roles/kubespray-defaults/tasks/main.yaml": "- import_tasks: fallback_ips.yml\n",
        "roles/download/defaults/main/checksums.yml":
            "kubelet_checksums:\n  amd64:\n    v1.27.3: a\n    v1.26.1: b\n    v1.25.0: c\n",
        "roles/kubernetes/control-plane/templates/kubeadm-config.v1beta3.yaml.j2": "kind: X\n",
        "tests/cloud_playbooks/roles/packet-ci/templates/inventory.j2": "[all]\n",
        ".gitlab-ci.yml": "variables:\n  ANSIBLE_INVENTORY: ./inventory/sample/${CI_JOB_NAME}-${BUILD_NUMBER}.ini\n",
        **_COMMON,
    },
    # January 2021: everything at the root, the old group names and no mapping to new ones
    "2021": {
        "cluster.yml": "- hosts: k8s-cluster:etcd\n",
        "roles/kubespray-defaults/defaults/main.yaml": "kube_version: v1.19.7\n",
        "roles/kubespray-defaults/tasks/fallback_ips.yml": "- set_fact:\n    fallback_ips: {}\n",
        "roles/download/defaults/main.yml":
            "kubelet_checksums:\n  amd64:\n    v1.19.7: a\n    v1.19.6: b\n    v1.18.15: c\n",
        "inventory/sample/inventory.ini":
            "[all]\n# node1 ansible_host=95.54.0.12\n\n[kube-master]\n# node1\n\n[etcd]\n# node1\n\n"
            "[kube-node]\n# node2\n\n[calico-rr]\n\n[k8s-cluster:children]\nkube-master\nkube-node\ncalico-rr\n",
        "inventory/sample/group_vars/k8s-cluster/k8s-cluster.yml": "kube_version: v1.19.7\n",
        "inventory/sample/group_vars/all/all.yml": "bin_dir: /usr/local/bin\n",
    },
}


def write_tree(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text, encoding="utf-8")
    return root


@pytest.fixture
def make_checkout(tmp_path: Path) -> Callable[[str], Checkout]:
    def make(flavour: str) -> Checkout:
        return open_checkout(DirTree(write_tree(tmp_path / flavour, FLAVOURS[flavour])))

    return make



@pytest.fixture
def tree_at(tmp_path: Path) -> Callable[[dict[str, str]], Path]:
    """Write `files` (relative path -> text) under a fresh directory and return it."""
    def make(files: dict[str, str]) -> Path:
        return write_tree(tmp_path / "tree", files)

    return make
