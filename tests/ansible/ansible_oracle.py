"""ansible-core's own templating, as the oracle for the differential tests.

`ansible_template(expr, variables)` is what a task argument or a variable value gives
(`Templar.template`); `ansible_render_file(text, variables)` is what the `template` action writes
(`copy_with_new_env(AnsibleEnvironment)` + `do_template(convert_data=False)`, as in
ansible/plugins/action/template.py of ansible-core 2.18). Collection filters resolve through the
collections shipped in the `ansible` package (Kubespray's pin, a test dependency).
"""

from __future__ import annotations

from typing import Any

from ansible.parsing.dataloader import DataLoader
from ansible.plugins.loader import init_plugin_loader
from ansible.template import AnsibleEnvironment, Templar

init_plugin_loader([])
_LOADER = DataLoader()


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
