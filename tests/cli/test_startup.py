"""Start-up: what a `kvalidate check` imports is what the command uses (README "Speed")."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# loaded only by the commands or the inputs that need them
DEFERRED = ("kubernetes_validate", "jsonschema", "ansible.inventory.manager", "cryptography.x509", "rich", "jmespath",
            "xml.etree.ElementTree", "importlib.metadata")

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
    text = _run(["check", demo, "--no-config", "-e", "typha_enabled=true", "-f", f"text={tmp_path}/r.txt"], tmp_path)
    assert text["code"] in (0, 1) and "document(s)" in (tmp_path / "r.txt").read_text()
    assert text["loaded"] == []
    # the same run with a limit does load ansible-core's inventory (the test can fail)
    limited = _run(["check", demo, "--no-config", "--limit", "kube_control_plane", "-e", "typha_enabled=true",
                    "-f", f"json={tmp_path}/l.json"], tmp_path)
    assert "ansible.inventory.manager" in limited["loaded"]


def test_a_command_built_alone_parses_and_helps_as_in_the_whole_group() -> None:
    import click.testing
    import typer

    from kvalidate.cli.app import _command, app

    whole = typer.main.get_command(app)
    assert isinstance(whole, click.Group)
    runner = click.testing.CliRunner()
    for name in whole.commands:
        alone = _command([name, "--help"])
        assert isinstance(alone, click.Group)
        if name == "schemas":  # a sub-app: built with the whole group
            assert set(alone.commands) == set(whole.commands)
            continue
        assert list(alone.commands) == [name]
        for args in ([name, "--help"], [name, "--no-such-option"]):
            expected = runner.invoke(whole, args, prog_name="kvalidate")
            got = runner.invoke(alone, args, prog_name="kvalidate")
            assert (got.exit_code, got.output) == (expected.exit_code, expected.output), args
            assert f"kvalidate {name}" in got.output, args
    # options before the command name, and unknown names, get the whole group
    for argv in (["--version"], ["nonsense"], []):
        group = _command(argv)
        assert isinstance(group, click.Group) and set(group.commands) == set(whole.commands)


def test_the_command_skips_teardown_but_not_exit_handlers_nor_output(tmp_path: Path) -> None:
    """`python -m kvalidate` (and the installed script) end with os._exit: the report on stdout is
    whole, stderr's lines are there, and the compiled-code cache was flushed (an exit handler)."""
    demo = str(ROOT / "templates_under_test")
    cache = tmp_path / "cache"
    env = {**os.environ, "KVALIDATE_CACHE_DIR": str(cache), "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-m", "kvalidate", "check", demo, "--no-config", "-e", "typha_enabled=true",
                           "-f", "json"], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300)
    assert proc.returncode in (0, 1), proc.stderr
    assert json.loads(proc.stdout)["summary"]["documents"] > 0
    # `render` compiles in this process (no worker flushes for it): only the exit handler writes the cache
    template = tmp_path / "t.j2"
    template.write_text("{% for i in range(n | int) %}{{ i }}\n{% endfor %}", encoding="utf-8")
    alone = tmp_path / "alone"
    rendered = subprocess.run([sys.executable, "-m", "kvalidate", "render", str(template), "-e", "n=3"],
                              capture_output=True, text=True, env={**env, "KVALIDATE_CACHE_DIR": str(alone)},
                              cwd=tmp_path, timeout=300)
    assert (rendered.returncode, rendered.stdout) == (0, "0\n1\n2\n")
    assert "jinja" in [p.name.split("-")[0] for p in alone.glob("*.marshal")]
    bad = subprocess.run([sys.executable, "-m", "kvalidate", "check", str(tmp_path / "missing")], capture_output=True,
                         text=True, env=env, cwd=tmp_path, timeout=300)
    assert bad.returncode == 2 and bad.stderr.startswith("kvalidate: ") and bad.stdout == ""
