"""The CI kit: `--version`, `kvalidate rules`, shell completion, `.pre-commit-hooks.yaml`, `action.yml`
and the pipelines of docs/ci.md. The files are parsed and their shapes checked, and every kvalidate
command line in them must name commands, options and formats the CLI has: the test fails when one
they use disappears."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
import pytest
import shellingham
import typer
import yaml

from kvalidate.cli import main
from kvalidate.cli.app import app
from kvalidate.pinned import embedded_demo
from kvalidate.report import REPORTERS
from kvalidate.rules import registry

ROOT = Path(__file__).resolve().parents[2]
CLI = typer.main.get_command(app)
assert isinstance(CLI, click.Group)
EXE = Path(sys.executable).parent / "kvalidate"



def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str], list[str]]:
    code = main(args)
    out, err = capsys.readouterr()
    return code, out.splitlines(), err.splitlines()


# -- the CLI's vocabulary -----------------------------------------------------------------------------

def options(command: str | None) -> set[str]:
    cmd = CLI if command is None else CLI.commands[command]
    return {o for p in cmd.params for o in (*p.opts, *p.secondary_opts) if o.startswith("-")} | {"--help"}


def check_invocation(tokens: list[str], where: str) -> None:
    """`tokens`: the words after `kvalidate`, up to the end of the command."""
    if not tokens or tokens[0].startswith("-"):
        unknown = {t for t in tokens if t.startswith("--")} - options(None)
        assert not unknown, f"{where}: kvalidate has no option {unknown}"
        return
    command, rest = tokens[0], tokens[1:]
    assert command in CLI.commands, f"{where}: kvalidate has no command {command!r}"
    known = options(command)
    if command == "baseline":  # passes check's options on to check
        known |= options("check")
    for i, t in enumerate(rest):
        if not t.startswith("-") or t == "-" or re.match(r"^-\d", t):
            continue
        name = t.split("=", 1)[0]
        assert name in known, f"{where}: `kvalidate {command}` has no option {name}"
        if name in ("-f", "--format"):
            value = t.split("=", 1)[1] if "=" in t and t.startswith("--") else rest[i + 1]
            fmt = value.split("=", 1)[0]
            assert fmt in REPORTERS, f"{where}: no format {fmt!r}"


_END = {"|", "||", "&&", ";", ">", ">>", "2>", ")", "<"}


def invocations(text: str) -> Iterator[list[str]]:
    """The words after each `kvalidate` of a shell text (continuation lines joined)."""
    for line in text.replace("\\\n", " ").splitlines():
        if "kvalidate" not in line or line.lstrip().startswith("#"):
            continue
        try:
            words = shlex.split(line, comments=True)
        except ValueError:
            words = line.split()
        for i, w in enumerate(words):
            if re.search(r"(^|[=(])kvalidate$", w):
                out = []
                for t in words[i + 1:]:
                    if t in _END or t.endswith(")") and "(" not in t:
                        break
                    out.append(t)
                yield out


def test_the_checker_catches_a_missing_option() -> None:
    check_invocation(["check", ".", "--scenario", "x", "-f", "sarif=k.sarif"], "ok")
    with pytest.raises(AssertionError, match="has no option --no-such-option"):
        check_invocation(["check", ".", "--no-such-option"], "bad")
    with pytest.raises(AssertionError, match="no format 'pdf'"):
        check_invocation(["validate", "x", "-f", "pdf=x.pdf"], "bad")
    with pytest.raises(AssertionError, match="has no command 'frobnicate'"):
        check_invocation(["frobnicate"], "bad")
    assert list(invocations('x=$(kvalidate --version | cut -f2)\nGITHUB_STEP_SUMMARY= kvalidate check "$P" \\\n'
                            '  -f text  # comment\n')) == [["--version"], ["check", "$P", "-f", "text"]]


# -- --version, rules ---------------------------------------------------------------------------------

def test_version_from_the_console_script() -> None:
    proc = subprocess.run([str(EXE), "--version"], capture_output=True, text=True)
    assert proc.returncode == 0 and re.fullmatch(r"kvalidate \d+\.\d+\.\d+\n", proc.stdout)


def test_rules_lists_every_rule_with_severity_and_summary(capsys: pytest.CaptureFixture[str]) -> None:
    import json

    assert main(["rules", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert sorted(r["id"] for r in listed) == sorted(registry())
    for r in listed:
        assert r["severity"] in ("error", "warning") and r["summary"].endswith("."), r


def test_rules_prints_one_rules_documentation(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["rules", "unused-extra-var"], capsys)
    info = registry()["unused-extra-var"]
    assert code == 0 and out[0] == "unused-extra-var (run, warning)" and out[1] == "  " + info.summary
    assert out[-1] == "  (docs/rules.md#unused-extra-var)" and "did you mean typha_enabled?" in out[2]
    assert run(["rules", "unknwn-field"], capsys) == (
        2, [], ["kvalidate: no rule 'unknwn-field'; did you mean unknown-field, unknown-kind?"])


# -- shell completion ---------------------------------------------------------------------------------

def test_completion_options_are_offered(capsys: pytest.CaptureFixture[str]) -> None:
    assert {"--install-completion", "--show-completion", "--version"} <= options(None)


def _script(shell: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> str:
    monkeypatch.setattr(shellingham, "detect_shell", lambda: (shell, f"/bin/{shell}"))
    with pytest.raises(SystemExit) as done:
        main(["--show-completion"])
    assert done.value.code == 0
    return capsys.readouterr().out


@pytest.mark.parametrize(("shell", "marker"), [
    ("bash", "complete -o default -F _kvalidate_completion kvalidate"),
    ("zsh", "compdef _kvalidate_completion kvalidate"),
    ("fish", "complete --command kvalidate"),
])
def test_show_completion_prints_the_script(shell: str, marker: str, monkeypatch: pytest.MonkeyPatch,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    script = _script(shell, monkeypatch, capsys)
    assert marker in script and f"_KVALIDATE_COMPLETE=complete_{shell}" in script


def _bash_complete(script: Path, line: str, cwd: Path = ROOT) -> list[str]:
    """What bash offers for `line` (ending where TAB is pressed), through the installed script."""
    words = line.split(" ")
    program = (f"source {shlex.quote(str(script))}\nCOMP_WORDS=({' '.join(shlex.quote(w) for w in words)})\n"
               f"COMP_CWORD={len(words) - 1}\n_kvalidate_completion kvalidate\nprintf '%s\\n' \"${{COMPREPLY[@]}}\"\n")
    env = {**os.environ, "PATH": f"{EXE.parent}{os.pathsep}{os.environ['PATH']}"}
    proc = subprocess.run(["bash", "--norc", "--noprofile", "-c", program], capture_output=True, text=True,
                          env=env, cwd=cwd, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return [w for w in proc.stdout.splitlines() if w]


def test_bash_completes_commands_options_formats_and_scenarios(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    script = tmp_path / "kvalidate.bash"
    script.write_text(_script("bash", monkeypatch, capsys))
    assert _bash_complete(script, "kvalidate ch") == ["check"]
    assert _bash_complete(script, "kvalidate check --sce") == ["--scenario"]
    assert _bash_complete(script, "kvalidate validate x -f j") == ["json", "junit"]
    demo = embedded_demo()
    assert _bash_complete(script, f"kvalidate check {demo} --scenario ubuntu24") == [
        "ubuntu24-calico-all-in-one", "ubuntu24-calico-ha-haproxy"]
    assert _bash_complete(script, "kvalidate check --scenario deb", cwd=demo) == ["debian12-calico-typha"]


# -- .pre-commit-hooks.yaml ---------------------------------------------------------------------------

# the keys of a hook in pre-commit's manifest (pre_commit/clientlib.py MANIFEST_HOOK_DICT)
HOOK_KEYS = {"id", "name", "entry", "language", "alias", "files", "exclude", "types", "types_or", "exclude_types",
             "additional_dependencies", "args", "always_run", "fail_fast", "pass_filenames", "description",
             "language_version", "log_file", "minimum_pre_commit_version", "require_serial", "stages", "verbose"}


def _hooks() -> dict[str, dict[str, Any]]:
    data = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    assert isinstance(data, list)
    return {h["id"]: h for h in data}


def test_pre_commit_hooks_shape() -> None:
    hooks = _hooks()
    assert set(hooks) == {"kvalidate-check", "kvalidate-validate"}
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    for hook in hooks.values():
        assert set(hook) <= HOOK_KEYS and {"id", "name", "entry", "language"} <= set(hook)
        assert hook["language"] == "python"  # pre-commit pip-installs this repository
        words = shlex.split(hook["entry"])
        assert words[0] in scripts
        check_invocation(words[1:] + list(hook.get("args", [])), f"hook {hook['id']}")
        for key in ("files", "exclude"):
            if key in hook:
                re.compile(hook[key])
    check, validate = hooks["kvalidate-check"], hooks["kvalidate-validate"]
    assert shlex.split(check["entry"]) == ["kvalidate", "check", "."] and check["pass_filenames"] is False
    assert shlex.split(validate["entry"]) == ["kvalidate", "validate"] and validate.get("pass_filenames", True)
    assert set(validate["types_or"]) == {"yaml", "json"}


@pytest.mark.parametrize(("path", "triggers"), [
    ("roles/network_plugin/calico/templates/calico-typha.yml.j2", True),
    ("roles/kubernetes/node/defaults/main.yml", True),
    ("playbooks/cluster.yml", True),
    ("inventory/sample/group_vars/k8s_cluster/k8s-cluster.yml", True),
    ("cluster.yml", True),
    ("kvalidate.yaml", True),
    ("docs/ansible/vars.md", False),
    ("tests/files/ubuntu24-calico-all-in-one.yml", False),
    (".pre-commit-config.yaml", False),
    ("roles/kubernetes/node/files/script.sh", False),
])
def test_the_check_hook_runs_when_templates_or_vars_change(path: str, triggers: bool) -> None:
    assert bool(re.search(_hooks()["kvalidate-check"]["files"], path)) is triggers


def test_the_hooks_entries_run(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """As pre-commit runs them: the check hook in the checkout's root (with a user's `args`), the
    validate hook with file names appended."""
    hooks = _hooks()
    monkeypatch.chdir(embedded_demo())
    code, out, _ = run([*shlex.split(hooks["kvalidate-check"]["entry"])[1:], "--no-config"], capsys)
    assert code == 1 and out[-1].startswith("19 file(s)")
    rendered = ROOT / "examples" / "rendered" / "calico-typha.yaml"
    code, out, _ = run([*shlex.split(hooks["kvalidate-validate"]["entry"])[1:], str(rendered)], capsys)
    assert code == 1 and any('unknown field "spec.template.spec.containers[0].volumeMounts[2].value"' in line
                             for line in out)


# -- action.yml ---------------------------------------------------------------------------------------

def _action() -> dict[str, Any]:
    data = yaml.safe_load((ROOT / "action.yml").read_text())
    assert isinstance(data, dict)
    return data


def test_action_shape() -> None:
    action = _action()
    assert {"name", "description", "inputs", "runs"} <= set(action)
    assert set(action["inputs"]) >= {"path", "args", "sarif-file", "category", "fail-on"}
    for name, spec in action["inputs"].items():
        assert "description" in spec, name
    steps = action["runs"]["steps"]
    assert action["runs"]["using"] == "composite"
    text = (ROOT / "action.yml").read_text()
    used = set(re.findall(r"inputs\.([a-z-]+)", text))
    assert used == set(action["inputs"]), "every input is used, and only declared inputs are"
    ids = {s.get("id") for s in steps}
    for output in action["outputs"].values():
        assert re.fullmatch(r"\$\{\{ steps\.([a-z-]+)\.outputs\.[a-z-]+ \}\}", output["value"]).group(1) in ids
    uses = {s["uses"].split("@")[0]: s for s in steps if "uses" in s}
    assert set(uses) == {"actions/setup-python", "actions/cache", "github/codeql-action/upload-sarif"}
    assert uses["actions/cache"]["with"]["path"] == "~/.cache/kvalidate"
    assert uses["github/codeql-action/upload-sarif"]["with"]["category"] == "${{ inputs.category }}"
    for step in steps:
        if "run" in step:
            assert step["shell"] == "bash", step["name"]  # a composite action's run steps must name it
            assert "${{ inputs." not in step["run"], "inputs reach scripts as environment variables"
            for words in invocations(step["run"]):
                check_invocation(words, f"action.yml step {step['name']!r}")


def _check_step() -> dict[str, Any]:
    return next(s for s in _action()["runs"]["steps"] if s.get("id") == "check")


@pytest.mark.parametrize(("args", "sarif", "expected_extra"), [
    ("", "", []),
    ("--base origin/main --changed-only -e 'x=a b' $(touch pwned)", "out.sarif",
     ["--base", "origin/main", "--changed-only", "-e", "x=a b", "$(touch", "pwned)"]),
])
def test_action_check_step_runs_kvalidate_as_documented(tmp_path: Path, args: str, sarif: str,
                                                        expected_extra: list[str]) -> None:
    """The step's script, run as the runner runs it (bash -eo pipefail), with a `kvalidate` that
    records its arguments and exits 1: all reports requested, arguments split without expansion,
    the step summary written once (by -f markdown), the exit code kept for the last step."""
    stub = tmp_path / "bin" / "kvalidate"
    stub.parent.mkdir()
    stub.write_text("#!/bin/bash\nprintf '%s\\0' \"$@\" > \"$RECORD\"\nprintf '%s' \"$GITHUB_STEP_SUMMARY\" > "
                    "\"$RECORD.summary\"\nfor a in \"$@\"; do case $a in sarif=*) echo '{}' > \"${a#sarif=}\";; esac; "
                    "done\nexit 1\n")
    stub.chmod(0o755)
    step = _check_step()
    env = {**os.environ, "PATH": f"{stub.parent}{os.pathsep}{os.environ['PATH']}", "RECORD": str(tmp_path / "argv"),
           "RUNNER_TEMP": str(tmp_path), "GITHUB_OUTPUT": str(tmp_path / "output"),
           "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md"), "KVALIDATE_PATH": "kubespray",
           "KVALIDATE_ARGS": args, "KVALIDATE_SARIF": sarif and str(tmp_path / sarif), "KVALIDATE_FAIL_ON": "error"}
    script = tmp_path / "step.sh"
    script.write_text(step["run"])
    proc = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    argv = (tmp_path / "argv").read_text().split("\0")[:-1]
    sarif_path = str(tmp_path / (sarif or "kvalidate.sarif"))
    assert argv == ["check", "kubespray", "--fail-on", "error", "-f", "text", "-f", "github", "-f",
                    f"sarif={sarif_path}", "-f", f"markdown={tmp_path / 'summary.md'}", *expected_extra]
    assert (tmp_path / "argv.summary").read_text() == ""  # -f github does not append a second summary
    assert (tmp_path / "output").read_text().splitlines() == ["exit-code=1", f"sarif-file={sarif_path}"]
    assert not (tmp_path / "pwned").exists()
    check_invocation(argv, "action.yml check step")


# -- docs/ci.md ---------------------------------------------------------------------------------------

def _blocks(lang: str) -> list[str]:
    text = (ROOT / "docs" / "ci.md").read_text()
    return re.findall(rf"^```{lang}\n(.*?)^```$", text, flags=re.MULTILINE | re.DOTALL)


SHELL_KEYS = ("run", "script", "before_script", "after_script")  # GitHub Actions steps, GitLab CI jobs


def _strings(node: Any, shell: bool = False) -> Iterator[str]:
    """The shell texts of a pipeline: `run:` of steps, `script:` lines of jobs."""
    if isinstance(node, str) and shell:
        yield node
    elif isinstance(node, dict):
        for k, v in node.items():
            yield from _strings(v, shell or k in SHELL_KEYS)
    elif isinstance(node, list):
        for v in node:
            yield from _strings(v, shell)


def _steps_using_the_action(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        if str(node.get("uses", "")).startswith("kvalidate/kvalidate@"):
            yield node
        for v in node.values():
            yield from _steps_using_the_action(v)
    elif isinstance(node, list):
        for v in node:
            yield from _steps_using_the_action(v)


def test_ci_md_pipelines_parse_and_use_real_options() -> None:
    blocks = _blocks("yaml")
    assert len(blocks) >= 5
    seen: set[str] = set()
    for block in blocks:
        doc = yaml.safe_load(block)
        for text in _strings(doc):
            for words in invocations(text):
                check_invocation(words, "docs/ci.md")
                seen.add(" ".join(words[:1]))
        for step in _steps_using_the_action(doc):
            assert set(step.get("with", {})) <= set(_action()["inputs"]), step
            check_invocation(["check", ".", *shlex.split(step.get("with", {}).get("args", ""))], "docs/ci.md action")
            seen.add("action")
        if isinstance(doc, dict) and "repos" in doc:  # a .pre-commit-config.yaml
            for hook in doc["repos"][0]["hooks"]:
                entry = shlex.split(_hooks()[hook["id"]]["entry"])[1:]
                check_invocation(entry + list(hook.get("args", [])), f"docs/ci.md hook {hook['id']}")
                seen.add(hook["id"])
    assert {"check", "merge", "action", "kvalidate-check", "kvalidate-validate"} <= seen
    text = "\n".join(blocks)
    for needed in ("--shard", "--base", "--changed-only", "kvalidate merge", "upload-sarif", "GITHUB_STEP_SUMMARY",
                   "parallel:", "junit"):
        assert needed in text, needed
