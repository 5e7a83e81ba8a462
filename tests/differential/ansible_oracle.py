"""ansible-core's own templating, as the oracle for the differential tests.

`ansible_template(expr, variables)` is what a task argument or a variable value gives
(`Templar.template`); `ansible_render_file(text, variables)` is what the `template` action writes
(`copy_with_new_env(AnsibleEnvironment)` + `do_template(convert_data=False)`, as in
ansible/plugins/action/template.py of ansible-core 2.18). Collection filters resolve through the
collections shipped in the `ansible` package (Kubespray's pin, a test dependency).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import ansible.constants as C  # noqa: E402,N812
from ansible.parsing.dataloader import DataLoader
from ansible.plugins.loader import init_plugin_loader
from ansible.template import AnsibleEnvironment, Templar

# Kubespray's ansible.cfg enables jinja2.ext.do; so does kvalidate's environment.
C.DEFAULT_JINJA2_EXTENSIONS = "jinja2.ext.do"
init_plugin_loader([])
_LOADER = DataLoader()
PLUGINS = Path(__file__).resolve().parent / "oracle_plugins" / "action"
# Every host runs locally; the capture plugins (oracle_plugins/) keep it from touching the machine.
LOCAL = {"ansible_connection": "local", "ansible_python_interpreter": sys.executable}


def ansible_template(expr: Any, variables: dict[str, Any]) -> Any:
    return Templar(loader=_LOADER, variables=variables).template(expr)


def ansible_render_file(text: str, variables: dict[str, Any], searchpath: list[str] | None = None) -> str:
    templar = Templar(loader=_LOADER, variables=variables).copy_with_new_env(
        environment_class=AnsibleEnvironment, searchpath=searchpath or ["."], newline_sequence="\n",
        available_variables=variables)
    overrides = {"newline_sequence": "\n", "block_start_string": "{%", "block_end_string": "%}",
                 "variable_start_string": "{{", "variable_end_string": "}}", "comment_start_string": "{#",
                 "comment_end_string": "#}", "trim_blocks": True, "lstrip_blocks": False}
    return str(templar.do_template(text, preserve_trailing_newlines=True, escape_backslashes=False,
                                   overrides=overrides))


def ansible_playbook(root: Path, inventory: str, playbook: str, extra: dict[str, str], out: Path) -> dict[
        tuple[str, str], str]:
    """Run real ansible-playbook on `root` with the capture plugins; {(host, dest): text} written."""
    env = {**os.environ, "KV_ORACLE_OUT": str(out), "ANSIBLE_ACTION_PLUGINS": str(PLUGINS),
           "ANSIBLE_CONFIG": str(root / "ansible.cfg"), "ANSIBLE_LOCAL_TEMP": str(out / "_tmp"),
           "ANSIBLE_NOCOLOR": "1"}
    args = [a for k, v in {**LOCAL, **extra}.items() for a in ("-e", f"{k}={v}")]
    cmd = [str(Path(sys.executable).parent / "ansible-playbook"), "-i", inventory, playbook, *args]
    proc = subprocess.run(cmd, cwd=root, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return {(p.relative_to(out).parts[0], "/" + "/".join(p.relative_to(out).parts[1:])): p.read_text()
            for p in out.rglob("*") if p.is_file() and "_modules" not in p.parts and "_tmp" not in p.parts}
