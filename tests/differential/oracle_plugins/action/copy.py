"""Test-only action plugin: the `template` action of real Ansible ends in `copy`; this `copy`
writes the rendered file under $KV_ORACLE_OUT/<host>/<dest> instead of the real dest."""

from __future__ import annotations

import hashlib
import os
from typing import Any

from ansible.plugins.action import ActionBase


class ActionModule(ActionBase):  # type: ignore[misc]
    def run(self, tmp: Any = None, task_vars: Any = None) -> dict[str, Any]:
        task_vars = task_vars or {}
        src, dest = self._task.args["src"], str(self._task.args["dest"])
        with open(src, "rb") as f:
            data = f.read()
        out = os.path.join(os.environ["KV_ORACLE_OUT"], task_vars["inventory_hostname"], dest.lstrip("/"))
        os.makedirs(os.path.dirname(out), exist_ok=True)
        with open(out, "wb") as f:
            f.write(data)
        return {"changed": True, "failed": False, "dest": dest, "checksum": hashlib.sha1(data).hexdigest()}
