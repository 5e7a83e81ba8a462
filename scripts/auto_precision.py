#!/usr/bin/env python3
"""The precision table of automatic coverage (docs/fidelity.md, "Automatic coverage: precision").

    scripts/auto_precision.py --branch master=path/to/kubespray-master --branch release-2.27=path/to/kubespray-2.27 \
        --branch release-2.23=path/to/kubespray-2.23 --reports reports/ [--run] [--verify] [--jobs 2]

For each branch: `kvalidate check PATH --auto -f json=REPORTS/auto-NAME.json` (with `--run`, else
the report already there is read), then every error defect of the report (`kvalidate.defects`: the
findings of one problem in one place, whatever cells and hosts show it), each with its verdict from
`VERDICTS` below: `real` (what a real run does, and how that was checked) or `artefact` (a defect of
kvalidate's, then fixed). `--verify` runs each defect's reproduce command (the automatic cell's
command for that template, `Cell.reproduce`, as the defect's `command`) and says whether it
reports the defect again, and with how many `-e`. Prints the Markdown table; exits 1 when an error
defect has no verdict, or is an artefact (the table must show none).
"""

from __future__ import annotations

import argparse
import json
import shlex
import subprocess
import sys
import tempfile
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# (where: a substring of the template, task file or message; rule; a substring of the message)
# -> (verdict, why). Checked with a reference renderer running real Ansible (ansible-core 2.18, as
# Kubespray pins it) or by reading the template, as each `why` says.
VERDICTS: list[tuple[str, str, str, str, str]] = [
    ("vsphere-csi-controller-config.yml.j2", "duplicate-key", "csi-auth-check", "real",
     "the ConfigMap sets `csi-auth-check` twice (line 3, then a version-dependent line 4): the version's value is "
     "silently replaced"),
    ("vsphere-csi-controller-config.yml.j2", "duplicate-key", "list-volumes", "real",
     "`list-volumes` set twice (lines 10 and 25), the same shape"),
    ("vsphere-csi-node.yml.j2", "duplicate-key", "imagePullPolicy", "real",
     "the node-driver-registrar container sets `imagePullPolicy` twice"),
    ("metallb.yaml.j2", "duplicate-key", "kubernetes.io/os", "real",
     "the template writes `metallb_controller_nodeselector` (default `kubernetes.io/os: linux`) and then "
     "`metallb_config.controller.nodeselector`; the sample inventory's own `metallb_config` example sets the "
     "same key, so following the sample gives a duplicate key (kubectl's strict decoding refuses it)"),
    ("calico-node.yml.j2", "api-validation", "typha-c", "real",
     "`volumeMounts` are written `{% if typha_secure %}`, their volumes `{% if typha_enabled and typha_secure %}`: "
     "with `typha_secure: true` and typha off (no assert forbids it) the DaemonSet mounts volumes it does not "
     "declare, and the API server refuses it"),
    ("calico-apiserver.yml.j2", "type", "caBundle", "real",
     "the manifest is rendered on every control plane, but `calico_apiserver_cabundle` is read (set_fact) on the "
     "first only: on the others it is the registered skip result, written as a dict; the file is written there "
     "and never applied (a latent defect)"),
    ("youki", "undefined-variable", "youki_bin_dir", "real",
     "`container_manager: crio` with `youki_enabled`: cri-o's default `youki_runtime` reads `youki_bin_dir`, a "
     "default of the youki role, which `include_role` keeps private (ansible-core 2.18): the set_fact fails in "
     "real Ansible too (tests/differential/test_diff_autogaps.py, and the reference renderer's scenario run)"),
    ("", "undefined-variable", "rbac_resources", "real",
     "`rbac_enabled: false` (RBAC not among `authorization_modes`): calico's `when: rbac_enabled or item.type not "
     "in rbac_resources` reads a variable removed from Kubespray in 2018 (#3086); real Ansible fails the task "
     "(tests/differential/test_diff_autogaps.py)"),
    ("", "undefined-variable", "no attribute 'results'", "real",
     "the task after the `rbac_resources` failure loops over that failed task's `results`: what Ansible reports "
     "when errors are ignored (a real run stops one task earlier)"),
    ("dns-autoscaler.yml.j2", "duplicate-key", "nodeSelector", "real",
     "`nodeSelector` set twice (lines 34 and 42): `dns_autoscaler_deployment_nodeselector` is silently replaced; "
     "fixed on master"),
    ("cilium/ds.yml.j2", "duplicate-key", "hostNetwork", "real",
     "the DaemonSet's pod spec sets `hostNetwork` twice (202 and 334 on 2.27)"),
    ("cilium/ds.yml.j2", "duplicate-key", "dnsPolicy", "real",
     "and `dnsPolicy` twice (200 and 337 on 2.27)"),
    ("calico-typha.yml.j2", "", "USE_POD_CIDR", "real",
     "the calico-typha bug: with `typha_secure` and `calico_ipam_host_local` the `USE_POD_CIDR` env entry lands "
     "in `volumeMounts` (README, docs/fidelity.md)"),
    ("calico-typha.yml.j2", "required", "mountPath", "real", "the same entry, which has no `mountPath`"),
    ("calico-typha.yml.j2", "unknown-field", "volumeMounts[2].value", "real", "the same entry's `value`"),
    ("external-oci-cloud-config", "render-error", "external-oci-cloud-config.j2", "real",
     "release-2.27's OCI role looks up `external-oci-cloud-config.j2`; the role has `external-oci-cloud-config.yml.j2` "
     "(fixed on master)"),
    ("external-oci-cloud-config-secret.yml.j2", "undefined-variable", "external_oracle_cloud_config_secret", "real",
     "the secret template reads the fact the failed lookup above should have set"),
    ("cilium/ds.yml.j2", "type", "null", "real",
     "`cilium_cgroup_host_root: ''`, which config.yml.j2 expects (line 256: `cilium_cgroup_host_root != ''` leaves "
     "`cgroup-root` out), is written unguarded as the cgroup volume's `mountPath` and `hostPath.path` (lines 302, "
     "368 on 2.27): a null path the API server refuses; master renders cilium through Helm"),
    ("cni-kube-ovn.yml.j2", "yaml-syntax", "", "real",
     "release-2.23 indents `{% if kube_ovn_ic_enable %}` (line 658) under the Service's ports, so with "
     "`kube_ovn_ic_enable: true` the next document's `---` lands inside that mapping: the file is not YAML "
     "(release-2.27 and master have the tag at column 0)"),
    ("crio.conf.j2", "undefined-variable", "'v1' is undefined", "real",
     "release-2.23's cri-o config (line 380) tests `nri_enabled and crio_version >= v1.26.0`: `v1.26.0` is no "
     "version literal but the variable `v1` (then attributes), defined nowhere: with `nri_enabled: true` and "
     "cri-o the template fails in real Ansible too (Jinja parses it the same way)"),
    ("", "undefined-variable", "'kube_reserved_cgroups_for_service_slice' is undefined", "real",
     "release-2.23 with `kube_reserved: true`: the container engines' unit templates (containerd.service.j2:41, "
     "crio.conf.j2, docker.service.j2, cri-dockerd.service.j2) read `kube_reserved_cgroups_for_service_slice`, a "
     "default of the kubernetes/node role, which is not in the container-engine play (playbooks/cluster.yml "
     "lines 28 and 69): undefined in real Ansible too; 2.27 moved it to kubespray-defaults"),
    ("kubeadm-images.yaml.j2", "unknown-field", "dns.type", "real",
     "release-2.23 writes `dns.type`, which kubeadm v1beta3 no longer has (docs/fidelity.md)"),
]


@dataclass
class Row:
    """One defect of the report (`kvalidate.defects`: one problem in one place) and its verdict."""

    where: str
    line: int
    rule: str
    path: str
    message: str
    severity: str
    cells: list[str]
    command: str
    verdict: str = "unclassified"
    why: str = ""
    reproduced: str = ""


def rows(report: dict[str, Any]) -> list[Row]:
    out = []
    for d in report["defects"]:
        where = d["template"] or _task(d["message"])
        row = Row(where, d["template_line"], d["rule"], d["path"], d["message"], d["severity"], d["cells"],
                  d["command"])
        for place, rule, text, verdict, why in VERDICTS:
            if place in f"{row.where} {row.message}" and (not rule or rule == row.rule) \
                    and text in row.message + row.path:
                row.verdict, row.why = verdict, why
                break
        out.append(row)
    return out


def _cell(text: str) -> str:
    """Text for a Markdown table cell (task names hold `|`)."""
    return text.replace("|", "\\|")


def _task(message: str) -> str:
    return message.split("'")[1] if message.startswith("task '") else ""


def reproduce(row: Row) -> str:
    """Run the defect's reproduce command; "yes" when it reports the same defect again."""
    if not row.command:
        return "no command"
    args = shlex.split(row.command)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "r.json"
        subprocess.run([sys.executable, "-m", "kvalidate", *args[1:], "-f", f"json={out}"], capture_output=True,
                       check=False, timeout=900)
        try:
            again = json.loads(out.read_text())["defects"]
        except (OSError, ValueError, KeyError):
            return "no report"
    same = any(d["rule"] == row.rule and d["template_line"] == row.line and d["path"] == row.path
               and (d["template"] or _task(d["message"])) == row.where for d in again)
    extra = sum(1 for a in args if a == "-e")
    return f"yes ({extra} -e)" if same else "no"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--branch", action="append", required=True, help="NAME=CHECKOUT")
    ap.add_argument("--reports", type=Path, required=True)
    ap.add_argument("--run", action="store_true", help="run `kvalidate check --auto` (else read the reports)")
    ap.add_argument("--verify", action="store_true",
                    help="run each defect's reproduce command (results kept in REPORTS/auto-verified.json)")
    ap.add_argument("--jobs", default="2")
    a = ap.parse_args()
    cache_path = a.reports / "auto-verified.json"
    cache: dict[str, str] = json.loads(cache_path.read_text()) if cache_path.is_file() else {}
    bad = 0
    for spec in a.branch:
        name, checkout = spec.split("=", 1)
        path = a.reports / f"auto-{name}.json"
        if a.run:
            subprocess.run([sys.executable, "-m", "kvalidate", "check", checkout, "--auto", "-j", a.jobs,
                            "-f", f"json={path}"], capture_output=True, check=False)
        report = json.loads(path.read_text())
        found = rows(report)
        errors = [d for d in found if d.severity == "error"]
        auto = [c for c in report.get("cells", []) if c.get("auto")]
        by_rule: dict[str, int] = defaultdict(int)
        for d in errors:
            by_rule[d.rule] += 1
        print(f"\n### {name}\n")
        print(f"{len(auto)} automatic cells (and the base cell); {report['summary']['errors']} error findings in "
              f"{len(errors)} defects ({', '.join(f'{r} {n}' for r, n in sorted(by_rule.items()))}); "
              f"{sum(1 for d in found if d.severity == 'warning')} warning defects; "
              f"{report['summary'].get('infeasible', 0)} findings of the checkout refusing an assignment, in the "
              "notes\n")
        # one line per problem: the defects of one template, rule and verdict (list indices and
        # rendered lines apart)
        lines: dict[tuple[str, str, str, str], list[Row]] = defaultdict(list)
        for d in errors:
            key = f"{name}|{d.command}|{d.rule}|{d.where}|{d.line}|{d.path}"
            if a.verify and key not in cache:
                cache[key] = reproduce(d)
                cache_path.write_text(json.dumps(cache, indent=1, sort_keys=True))
            d.reproduced = cache.get(key, "")
            lines[(d.where, d.rule, d.verdict, d.why)].append(d)
            bad += d.verdict != "real"
        print("| where | rule | defects | cells | verdict | why | reproduced by its command |")
        print("|---|---|---|---|---|---|---|")
        for (where, rule, verdict, why), group in lines.items():
            at = sorted({d.line for d in group if d.line})
            what = f"`{where}`" + (f" ({', '.join(map(str, at))})" if at else "")
            paths = sorted({d.path for d in group if d.path})
            if paths:
                what += " " + ", ".join(f"`{p}`" for p in paths[:2]) + (" ..." if len(paths) > 2 else "")
            cells = {c for d in group for c in d.cells}
            print(f"| {_cell(what)} | {rule} | {len(group)} | {len(cells)} | {verdict} | {_cell(why)} | "
                  f"{', '.join(sorted({d.reproduced or '-' for d in group}))} |")
        warned = sorted({f"`{d.where}` ({d.rule})" for d in found if d.severity == "warning"})
        if warned:
            print(f"\nWarnings: {', '.join(warned)}.")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
