"""Start-up: what a `kvalidate check` imports is what the command uses (README "Speed")."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# loaded only by the commands or the inputs that need them
DEFERRED = ("kubernetes_validate", "jsonschema", "ansible.inventory.manager", "cryptography.x509", "rich")

PROBE = """
import json, sys
from kvalidate.cli import main
code = main(sys.argv[1:])
print(json.dumps({"code": code, "loaded": sorted(m for m in DEFERRED if m in sys.modules)}), file=sys.stderr)
"""


def _run(args: list[str], tmp: Path) -> dict[str, object]:
    env = {**os.environ, "KVALIDATE_CACHE_DIR": str(tmp / "cache"), "KVALIDATE_CELL_TIMEOUT": "0",
           "KVALIDATE_WORKER_MEMORY": "0", "PYTHONPATH": str(ROOT)}  # cells in this process: its modules
    proc = subprocess.run([sys.executable, "-c", f"DEFERRED = {DEFERRED!r}\n{PROBE}", *args], capture_output=True,
                          text=True, env=env, cwd=tmp, timeout=300)
    return dict(json.loads(proc.stderr.strip().splitlines()[-1]))


def test_a_check_loads_neither_unused_libraries_nor_the_limit_machinery(tmp_path: Path) -> None:
    demo = str(ROOT / "templates_under_test")
    plain = _run(["check", demo, "--no-config", "-e", "typha_enabled=true", "-f", f"json={tmp_path}/r.json"],
                 tmp_path)
    assert plain["code"] in (0, 1) and json.loads((tmp_path / "r.json").read_text())["summary"]["documents"] > 0
    assert plain["loaded"] == []
    # the same run with a limit does load ansible-core's inventory (the test can fail)
    limited = _run(["check", demo, "--no-config", "--limit", "kube_control_plane", "-e", "typha_enabled=true",
                    "-f", f"json={tmp_path}/l.json"], tmp_path)
    assert "ansible.inventory.manager" in limited["loaded"]
