"""A small Kubespray-shaped checkout written here (no Kubespray code): a defaults role with checksums,
a network-plugin role whose Deployment template carries the calico-typha bug shape (two flags on
together close a block in the wrong list), CI scenario files and the CI layouts."""

from __future__ import annotations

import subprocess
from pathlib import Path

TYPHA = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: calico-typha
  namespace: kube-system
spec:
  replicas: {{ typha_replicas }}
  selector:
    matchLabels:
      k8s-app: calico-typha
  template:
    metadata:
      labels:
        k8s-app: calico-typha
    spec:
      containers:
        - name: calico-typha
          image: "{{ typha_image }}:{{ calico_version }}"
          env:
            - name: TYPHA_LOGSEVERITYSCREEN
              value: info
{% if typha_secure %}
          volumeMounts:
            - name: typha-server
              mountPath: /etc/typha
{% endif %}
{% if calico_ipam_host_local %}
            - name: USE_POD_CIDR
              value: "true"
{% endif %}
{% if typha_secure %}
      volumes:
        - name: typha-server
          secret:
            secretName: typha-server
{% endif %}
"""

FILES = {
    "playbooks/cluster.yml": """\
- name: Prepare
  hosts: k8s_cluster
  gather_facts: false
  roles:
    - kubespray_defaults
    - network_plugin
""",
    "roles/kubespray_defaults/defaults/main/main.yml":
        "kube_version: \"{{ (kubelet_checksums['amd64'] | dict2items)[0].key }}\"\n"
        "kube_network_plugin: calico\n",
    "roles/kubespray_defaults/vars/main/checksums.yml":
        "kubelet_checksums:\n  amd64:\n    1.33.2: a\n    1.33.0: b\n    1.32.4: c\n",
    "roles/network_facts/tasks/main.yaml": "- set_fact:\n    main_ip: \"{{ ansible_default_ipv4.address }}\"\n",
    "roles/network_plugin/meta/main.yml": "dependencies:\n  - role: network_plugin/calico\n"
                                          "    when: kube_network_plugin == 'calico'\n",
    "roles/network_plugin/calico/defaults/main.yml":
        "typha_enabled: false\ntypha_secure: false\ncalico_ipam_host_local: false\ntypha_replicas: 1\n"
        "typha_image: quay.io/calico/typha\ncalico_version: v3.29.1\n",
    "roles/network_plugin/calico/tasks/main.yml": """\
- name: Calico | Create calico manifests for typha
  template:
    src: calico-typha.yml.j2
    dest: /etc/kubernetes/calico-typha.yml
    mode: "0644"
  when: typha_enabled
""",
    "roles/network_plugin/calico/templates/calico-typha.yml.j2": TYPHA,
    "inventory/sample/group_vars/all/all.yml": "bin_dir: /usr/local/bin\n",
    "tests/common_vars.yml": "kube_network_plugin: calico\n",
    "tests/files/ubuntu24-calico-typha.yml": "cloud_image: ubuntu-2404\nmode: all-in-one\ntypha_enabled: true\n",
    "tests/cloud_playbooks/roles/packet-ci/vars/main.yml":
        "scenarios:\n  default:\n    - node_groups: [kube_control_plane, etcd]\n    - node_groups: [kube_node]\n"
        "  all-in-one:\n    - node_groups: [kube_control_plane, etcd, kube_node]\n",
}


def write_checkout(root: Path, files: dict[str, str] = FILES) -> Path:
    for rel, text in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text, encoding="utf-8")
    return root


def git(root: Path, *args: str) -> str:
    env = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@example.com", "HOME": str(root), "PATH": "/usr/bin:/bin"}
    return subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True, text=True,
                          env=env).stdout


def buggy_then_fixed_repo(root: Path) -> tuple[Path, Path]:
    """A git repo of the checkout: tag `v1` has the typha pair bug, `main` has it fixed.
    Returns (repo, the typha template in the work tree)."""
    repo = write_checkout(root)
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "buggy")
    git(repo, "tag", "v1")
    tpl = repo / "roles/network_plugin/calico/templates/calico-typha.yml.j2"
    tpl.write_text(tpl.read_text().replace(
        "{% if calico_ipam_host_local %}\n            - name: USE_POD_CIDR\n"
        '              value: "true"\n{% endif %}\n', ""))
    git(repo, "commit", "-qam", "fixed")
    return repo, tpl
