"""Test-only action plugin: `command` and `stat` run nothing; the arguments they were given (as
real Ansible templated them) are written under $KV_ORACLE_OUT/<host>/_modules/ and the generic
result is returned, like kvalidate's default simulator."""

from __future__ import annotations

import json
import os
from typing import Any

from ansible.plugins.action import ActionBase

DEFAULT = {"changed": False, "failed": False, "rc": 0, "stdout": "", "stdout_lines": [], "stderr": "",
           "stderr_lines": [], "skipped": False}


class ActionModule(ActionBase):  # type: ignore[misc]
    def run(self, tmp: Any = None, task_vars: Any = None) -> dict[str, Any]:
        task_vars = task_vars or {}
        out = os.path.join(os.environ["KV_ORACLE_OUT"], task_vars["inventory_hostname"], "_modules")
        os.makedirs(out, exist_ok=True)
        with open(os.path.join(out, f"{self._task.action}.{self._task.name}.json"), "w") as f:
            json.dump(dict(self._task.args), f, sort_keys=True, default=str)
        return dict(DEFAULT)
