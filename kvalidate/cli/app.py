"""Command line: options -> library call -> reporters -> exit code.

Exit codes: 0 no error finding, 1 error findings, 2 unusable input or usage (one line on stderr,
never a traceback); 130 on Ctrl-C (SIGINT) and 143 on SIGTERM, after the line `kvalidate: interrupted`.
"""

from __future__ import annotations

import atexit
import copy
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TextIO

import click
import typer

from kvalidate.model import Result, SetupError
from kvalidate.report import REPORTERS, parse_formats, write_reports

if TYPE_CHECKING:
    from kvalidate.api import CheckRequest

# add_completion: typer's --install-completion / --show-completion (bash, zsh, fish, PowerShell; the
# shell is detected), and the completion protocol (`_KVALIDATE_COMPLETE`) the installed script calls
app = typer.Typer(add_completion=True, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Render Kubespray templates as Ansible would and validate every output strictly.")


def _complete_formats(incomplete: str) -> list[str]:
    return [name for name in REPORTERS if name.startswith(incomplete)]


def _complete_scenarios(ctx: typer.Context, incomplete: str) -> list[str]:
    """The CI scenarios of the checkout on the command line (default: the current directory)."""
    checkout = Path(ctx.params.get("checkout") or ".")
    if checkout == Path("."):
        # click parses no positional argument while an option's value is incomplete: read the words
        # the shell passed (bash: COMP_WORDS, the others: _TYPER_COMPLETE_ARGS)
        words = (os.environ.get("_TYPER_COMPLETE_ARGS") or os.environ.get("COMP_WORDS") or "").split()
        checkout = next((Path(w) for w in words[2:] if not w.startswith("-") and (Path(w) / "tests/files").is_dir()),
                        checkout)
    files = checkout / "tests" / "files"
    try:
        names = sorted(p.name.removesuffix(".yml") for p in files.iterdir() if p.name.endswith(".yml"))
    except OSError:
        return []
    return [n for n in names if n.startswith(incomplete)]


FormatOpt = Annotated[list[str] | None, typer.Option(
    "--format", "-f", metavar="NAME[=PATH]", autocompletion=_complete_formats,
    help=f"Report format ({', '.join(REPORTERS)}), optionally written to PATH; repeatable.")]
CategoryOpt = Annotated[str | None, typer.Option(
    "--sarif-category", metavar="NAME",
    help="Name of the run in SARIF's automationDetails.id (GitHub code scanning's category); default: "
    "derived from the command, scenarios or matrix file, and refs.")]
KubeVersionOpt = Annotated[str | None, typer.Option(
    "--kube-version", metavar="X.Y", help="Kubernetes minor whose API schemas apply (default: newest).")]
CheckKubeVersionOpt = Annotated[str | None, typer.Option(
    "--kube-version", metavar="X.Y", help="Render and validate as Kubernetes X.Y: every cell's kube_version "
    "becomes the checkout's newest X.Y patch (refused when the checkout does not support X.Y). Default: each "
    "cell's own.")]
SchemaVersionOpt = Annotated[str | None, typer.Option(
    "--schema-version", metavar="X.Y", help="Kubernetes minor whose API schemas apply, whatever is rendered "
    "(default: the minor each cell renders; one outside the bundled 1.25 to 1.37 gets the nearest bundled "
    "one, with a warning).")]


def _print_version(value: bool) -> None:
    if value:
        from importlib.metadata import PackageNotFoundError, version

        try:
            print(f"kvalidate {version('kvalidate')}")
        except PackageNotFoundError:  # the source tree on PYTHONPATH, never installed
            print("kvalidate (version unknown: not installed)")
        raise typer.Exit(0)


@app.callback()
def _root(version: Annotated[bool, typer.Option(
        "--version", callback=_print_version, is_eager=True, help="Print kvalidate's version and exit.")] = False,
) -> None:
    """Render Kubespray templates as Ansible would and validate every output strictly."""


JobsOpt = Annotated[int, typer.Option("--jobs", "-j", help="Worker processes (0: one per core).")]
BaselineOpt = Annotated[Path | None, typer.Option(
    "--baseline", metavar="REPORT.json", help="A JSON report (`kvalidate baseline`, or any -f json): its defects "
    "are reported as known and do not fail the run.")]
FailOnOpt = Annotated[str, typer.Option(
    "--fail-on", metavar="error|warning|never", help="What fails the run (exit 1): an error defect (default), "
    "any defect, or nothing.")]
TriggerBudgetOpt = Annotated[int, typer.Option(
    "--trigger-budget", metavar="N", min=0,
    help="Re-renders spent confirming which variable values trigger each error defect (0: none).")]
_TRIGGER_BUDGET = 24  # kvalidate.run.trigger.DEFAULT_BUDGET (not imported here: start-up time)


def _finish(result: Result, formats: list[tuple[str, str | None]], category: str | None = None,
            gate: Callable[[Result], Result] | None = None) -> None:
    if gate is not None:
        result = gate(result)
    if category:
        result.category = category
    write_reports(result, formats)
    raise typer.Exit(result.exit_code())


def _gate(baseline: Path | None, fail_on: str) -> Callable[[Result], Result]:
    """`--baseline` and `--fail-on`, checked (and the baseline read) before the run starts; the
    returned function applies them to the run's result."""
    from kvalidate.defects import apply_baseline, baseline_ids
    from kvalidate.model import FAIL_ON
    from kvalidate.report import json_report

    if fail_on not in FAIL_ON:
        raise SetupError(f"--fail-on {fail_on!r}: choose from {', '.join(FAIL_ON)}")
    known: set[str] | None = None
    if baseline is not None:
        if baseline.is_dir():
            raise SetupError(f"cannot read baseline {baseline}: it is a directory")
        known = baseline_ids(json_report.read(str(baseline)))

    def apply(result: Result) -> Result:
        if known is not None:
            n = apply_baseline(result.defects, known, str(baseline))
            present = {d.id for d in result.defects}
            gone = len(known - present)
            result.notes.append(f"baseline {baseline}: {n} defect(s) known" +
                                (f", {gone} of its {len(known)} no longer found" if gone else ""))
        result.fail_on = fail_on
        return result

    return apply


@app.command()
def validate(
    paths: Annotated[list[str], typer.Argument(help="Files, directories (*.yaml, *.yml, *.json) or - for stdin.")],
    kube_version: KubeVersionOpt = None,
    fmt: FormatOpt = None,
    crds: Annotated[list[Path] | None, typer.Option(
        "--crds", metavar="PATH", help="CustomResourceDefinitions (file or directory) to validate custom "
        "resources against; repeatable.")] = None,
    sarif_category: CategoryOpt = None,
    baseline: BaselineOpt = None,
    fail_on: FailOnOpt = "error",
) -> None:
    """Validate rendered Kubernetes YAML strictly, as the API server would."""
    from kvalidate.api import validate_paths

    formats = parse_formats(fmt, inputs=[*paths, *(crds or ()), *([baseline] if baseline else [])])
    gate = _gate(baseline, fail_on)
    _finish(validate_paths(paths, kube_version, [str(p) for p in crds or ()]), formats, sarif_category, gate)


@app.command()
def demo(jobs: JobsOpt = 0, fmt: FormatOpt = None, sarif_category: CategoryOpt = None, baseline: BaselineOpt = None,
         fail_on: FailOnOpt = "error", trigger_budget: TriggerBudgetOpt = _TRIGGER_BUDGET) -> None:
    """The main job on the embedded default (what `make run` runs): `kvalidate check` on
    templates_under_test, a small Kubespray-shaped checkout with deliberate bugs, over its matrix
    (templates_under_test/kvalidate.yaml)."""
    from kvalidate.api import demo_request

    formats = parse_formats(fmt, inputs=[baseline] if baseline else [])
    gate = _gate(baseline, fail_on)
    _finish(_check(demo_request(jobs=_jobs(jobs), trigger_budget=trigger_budget)), formats, sarif_category, gate)


@app.command()
def render(
    template: Annotated[Path, typer.Argument(help="A Jinja2 template file (no checkout needed).")],
    vars_files: Annotated[list[Path] | None, typer.Option(
        "--vars", metavar="FILE", help="YAML file of extra vars; repeatable.")] = None,
    extra: Annotated[list[str] | None, typer.Option(
        "-e", "--extra-vars", metavar="KEY=VALUE", help="Extra vars as ansible-playbook -e reads them.")] = None,
    check: Annotated[bool, typer.Option("--validate", help="Validate the output instead of printing it.")] = False,
    kube_version: KubeVersionOpt = None,
    fmt: FormatOpt = None,
    sarif_category: CategoryOpt = None,
) -> None:
    """Render one template as Ansible's template module would; write exactly the text to stdout."""
    from kvalidate.ansible import parse_extra_vars
    from kvalidate.api import render as render_one

    formats = parse_formats(fmt, inputs=[template, *(vars_files or ())]) if check else []
    out = render_one(template, parse_extra_vars(extra or [], vars_files or []), check, kube_version)
    if out.text is None:
        for f in out.result.findings:
            where = f"{f.template}:{f.template_line}" if f.template_line else f.template
            print(f"{where}: {f.severity.value} [{f.rule}] {f.message}", file=sys.stderr)
        raise typer.Exit(1)
    if not check:
        sys.stdout.buffer.write(out.text.encode("utf-8"))
        sys.stdout.flush()
        raise typer.Exit(0)
    _finish(out.result, formats, sarif_category)


@app.command()
def check(
    checkout: Annotated[Path, typer.Argument(
        help="A Kubespray checkout (default: the current directory).")] = Path("."),
    scenario: Annotated[list[str] | None, typer.Option(
        "--scenario", metavar="FILE", autocompletion=_complete_scenarios,
        help="A CI scenario (tests/files/X.yml, or X): one cell each; repeatable.")] = None,
    extra: Annotated[list[str] | None, typer.Option(
        "-e", "--extra-vars", metavar="KEY=VALUE",
        help="Extra vars on top of every cell, as ansible-playbook -e.")] = None,
    vars_files: Annotated[list[Path] | None, typer.Option("--vars", metavar="FILE", help="YAML extra vars.")] = None,
    inventory: Annotated[Path | None, typer.Option(
        "--inventory", metavar="PATH", help="Your inventory (hosts file with group_vars/ and host_vars/).")] = None,
    layout: Annotated[str | None, typer.Option(
        "--layout", help="A CI layout: default, separate, ha, all-in-one, ha-recover, ha-recover-noquorum, "
        "node-etcd-client.")] = None,
    os_name: Annotated[str | None, typer.Option(
        "--os", metavar="NAME", help="Host facts preset (CI cloud_image).")] = None,
    host: Annotated[list[str] | None, typer.Option("--host", metavar="NAME", help="Report only these hosts.")] = None,
    kube_version: CheckKubeVersionOpt = None,
    schema_version: SchemaVersionOpt = None,
    facts: Annotated[list[Path] | None, typer.Option("--facts", metavar="FILE", help="Host facts overlay.")] = None,
    config: Annotated[Path | None, typer.Option(
        "--config", metavar="FILE", help="Matrix file (default: kvalidate.yaml at the checkout's root).")] = None,
    no_config: Annotated[bool, typer.Option("--no-config", help="Ignore the checkout's kvalidate.yaml.")] = False,
    ref: Annotated[list[str] | None, typer.Option(
        "--ref", metavar="REF", help="Render the checkout as it is at a git ref (read from git objects); "
        "repeatable.")] = None,
    shard_spec: Annotated[str | None, typer.Option(
        "--shard", metavar="I/N", help="Run shard I of N of the cells.")] = None,
    jobs: JobsOpt = 0,
    emit_dir: Annotated[Path | None, typer.Option(
        "--emit", metavar="DIR", help="Write every rendering as DIR/HOST/DEST.")] = None,
    auto: Annotated[bool, typer.Option(
        "--auto", help="Automatic coverage: per template, its task's gate held open and every pair of the "
        "values its own conditionals test, as extra cells on top of the first cell.")] = False,
    playbook: Annotated[str | None, typer.Option(
        "--playbook", metavar="NAME", help="The playbook run: cluster.yml (default), upgrade-cluster.yml, "
        "scale.yml, remove-node.yml, reset.yml, recover-control-plane.yml, or any playbook of the checkout.")] = None,
    limit: Annotated[str | None, typer.Option(
        "--limit", "-l", metavar="PATTERN", help="As ansible-playbook --limit: plays run only on these hosts; "
        "hosts outside keep their inventory vars and what the fact cache holds.")] = None,
    fact_cache: Annotated[str | None, typer.Option(
        "--fact-cache", metavar="facts.yml|none", help="With --limit: facts.yml (default: the checkout's "
        "facts playbook ran on every host first; gathered and cacheable facts are cached) or none.")] = None,
    fmt: FormatOpt = None,
    sarif_category: CategoryOpt = None,
    base: Annotated[str | None, typer.Option(
        "--base", metavar="REF", help="Also render the same cells at git REF and report each defect as new, "
        "unchanged or fixed; only new ones fail the run (a pull request's gate).")] = None,
    changed_only: Annotated[bool, typer.Option(
        "--changed-only", help="With --base: automatic coverage for the templates changed since REF (and those "
        "whose role's tasks, defaults or vars changed) only; the other cells still run.")] = False,
    baseline: BaselineOpt = None,
    fail_on: FailOnOpt = "error",
    trigger_budget: TriggerBudgetOpt = _TRIGGER_BUDGET,
) -> None:
    """Render a Kubespray checkout as its playbook (cluster.yml) would, per host and cell, and validate
    every output."""
    from kvalidate.ansible import parse_extra_vars
    from kvalidate.api import CheckRequest

    formats = parse_formats(fmt, inputs=[*(vars_files or ()), *(facts or ()), *([baseline] if baseline else [])],
                            checkouts=[checkout])
    gate = _gate(baseline, fail_on)
    request = CheckRequest(
        checkout=checkout, scenarios=tuple(scenario or ()), extra_vars=parse_extra_vars(extra or [], vars_files or []),
        inventory=inventory, layout=layout or "", os=os_name or "", hosts=tuple(host or ()),
        kube_version=kube_version, schema_version=schema_version, facts_files=tuple(facts or ()), config=config,
        use_config=not no_config,
        refs=tuple(ref or ()), shard=shard_spec, auto=auto, jobs=_jobs(jobs), emit_dir=emit_dir,
        checkout_arg=str(checkout), base=base or "", changed_only=changed_only,
        trigger_budget=trigger_budget, playbook=playbook or "", limit=limit or "", fact_cache=fact_cache or "")
    _finish(_check(request), formats, sarif_category, gate)


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
             options_metavar="[CHECKOUT] [CHECK OPTIONS] -o FILE")
def baseline(
    ctx: typer.Context,
    output: Annotated[Path, typer.Option(
        "--output", "-o", metavar="FILE", help="Where to write the baseline (a JSON report).")],
) -> None:
    """Write a baseline: runs `kvalidate check` with the checkout and options given (every option of
    check) and writes its JSON report to FILE, whatever it finds (exit 0). Later runs given
    `--baseline FILE` report those defects as known; any `-f json` report works the same."""
    import json

    command = typer.main.get_command(app)
    assert isinstance(command, click.Group)
    args = list(ctx.args)
    if "--baseline" in args or any(a.startswith("--baseline=") for a in args):
        raise SetupError("kvalidate baseline writes a baseline: --baseline does not apply")
    code = command.commands["check"].main(
        args=[*args, "--format", f"json={output}", "--fail-on", "never"], prog_name="kvalidate baseline",
        standalone_mode=False)
    if code not in (0, None):
        raise typer.Exit(code)
    with open(output, encoding="utf-8") as fh:
        defects = json.load(fh)["defects"]
    print(f"kvalidate: baseline {output}: {len(defects)} defect(s) "
          f"({sum(1 for d in defects if d['severity'] == 'error')} error(s))", file=sys.stderr)


def _jobs(jobs: int) -> int:
    from kvalidate.run.check import default_jobs

    return jobs or default_jobs()


def _check(request: CheckRequest) -> Result:
    from kvalidate.api import check as run_check

    tty = sys.stderr.isatty()
    with progress_bar(tty) as bar:
        progress = bar if tty else progress_lines(sys.stderr)
        return run_check(request, progress, notes=lambda note: print(f"kvalidate: {note}", file=sys.stderr))


OnProgress = Callable[[int, int, int], None]  # (cells done, cells in all, defects so far): api.Progress


def progress_lines(stream: TextIO, interval: float = 10.0, clock: Callable[[], float] | None = None) -> OnProgress:
    """Progress where stderr is not a terminal (a CI log): the line `kvalidate: cells 40/195, 12
    defects so far` at the first cell done `interval` seconds after the start or the last line;
    none after the last cell (the report follows). A run shorter than `interval` prints nothing."""
    now_of = clock or time.monotonic
    last = now_of()

    def update(done: int, total: int, found: int) -> None:
        nonlocal last
        now = now_of()
        if done >= total or now - last < interval:
            return
        last = now
        print(f"kvalidate: cells {done}/{total}, {found} defect{'' if found == 1 else 's'} so far",
              file=stream, flush=True)

    return update


@contextmanager
def progress_bar(tty: bool, delay: float = 1.0) -> Iterator[OnProgress | None]:
    """A progress bar on stderr when it is a terminal, for runs of more than one cell that last
    longer than `delay` seconds (it appears at the first cell done after that, and is erased)."""
    if not tty:
        yield None
        return
    from rich.console import Console
    from rich.progress import Progress

    start = time.monotonic()
    bars: list[tuple[Progress, Any]] = []

    def update(done: int, total: int, found: int = 0) -> None:
        if not bars:
            if total < 2 or time.monotonic() - start < delay:
                return
            bar = Progress(transient=True, console=Console(stderr=True))
            bar.start()
            bars.append((bar, bar.add_task("cells", total=total)))
        bars[0][0].update(bars[0][1], completed=done)

    try:
        yield update
    finally:
        for bar, _ in bars:
            bar.stop()


@app.command()
def merge(
    reports: Annotated[list[str], typer.Argument(help="JSON reports (e.g. one per --shard) to merge.")],
    fmt: FormatOpt = None,
    sarif_category: CategoryOpt = None,
    baseline: BaselineOpt = None,
    fail_on: FailOnOpt = "error",
) -> None:
    """Merge JSON reports of shards into one and write any report format from it."""
    from kvalidate.report import json_report

    formats = parse_formats(fmt, inputs=[*reports, *([baseline] if baseline else [])])
    merged = json_report.merge([json_report.read(r) for r in reports])
    if merged.files == 0 and not merged.findings:
        raise SetupError(f"nothing was checked: the {len(reports)} report(s) merged checked no file")
    gate = _gate(baseline, fail_on)
    _finish(merged, formats, sarif_category, gate)


@app.command("rules")
def rules_cmd(
    ids: Annotated[list[str] | None, typer.Argument(
        metavar="[RULE]...", help="Print these rules' whole documentation.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the registry as JSON.")] = False,
) -> None:
    """Every rule id a finding can carry, with its family, severity and description (docs/rules.md)."""
    import json

    from kvalidate.rules import registry

    known = registry()
    rules = sorted(known.values(), key=lambda r: (r.family.value, r.id))
    if ids:
        import difflib

        for rid in ids:
            if rid not in known:
                close = difflib.get_close_matches(rid, list(known), n=3)
                raise SetupError(f"no rule {rid!r}" + (f"; did you mean {', '.join(close)}?" if close else
                                                       " (kvalidate rules lists them)"))
        rules = [known[rid] for rid in dict.fromkeys(ids)]
        if not as_json:
            for r in rules:
                print(f"{r.id} ({r.family.value}, {r.severity.value})\n  {r.summary}")
                if r.doc:
                    print("\n".join("  " + line if line else "" for line in r.doc.strip().splitlines()))
                print(f"  (docs/rules.md#{r.id})")
            return
    if as_json:
        print(json.dumps([{"id": r.id, "family": r.family.value, "severity": r.severity.value,
                           "summary": r.summary, "doc": r.doc} for r in rules], indent=2))
        return
    width = max(len(r.id) for r in rules)
    for r in rules:
        print(f"{r.id.ljust(width)}  {r.family.value:<8}  {r.severity.value:<7}  {r.summary}")


def _add_schemas_group() -> None:
    from kvalidate.cli.schemas import schemas_app

    app.add_typer(schemas_app, name="schemas")


_add_schemas_group()


@app.command("config-schema")
def config_schema_cmd() -> None:
    """Print the JSON Schema of kvalidate.yaml (for editors and CI linting)."""
    import json

    from kvalidate.matrix.config import config_schema

    print(json.dumps(config_schema(), indent=2))


class Interrupted(BaseException):
    """SIGINT or SIGTERM arrived. A BaseException, so that no `except Exception` and not click (which
    turns KeyboardInterrupt into Abort and prints a blank line) stops it on its way up; `run.check`
    ends its workers on the way."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def _interrupt(signum: int, frame: object) -> None:
    raise Interrupted(signum)


def main(argv: list[str] | None = None) -> int:
    """Entry point: never a traceback; SetupError and usage errors are one line and exit 2; SIGINT
    and SIGTERM are the line `kvalidate: interrupted` and exit 128 + the signal (130, 143)."""
    if threading.current_thread() is not threading.main_thread():  # signal handlers: main thread only
        return _main(argv)
    previous = {s: signal.signal(s, _interrupt) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        return _main(argv)
    except Interrupted as e:
        print("kvalidate: interrupted", file=sys.stderr)
        return 128 + e.signum
    finally:
        for s, handler in previous.items():
            if handler is not None:  # None: installed from C, cannot be put back
                signal.signal(s, handler)


def _command(argv: list[str]) -> click.Command:
    """The click command for `argv`: when it starts with a command's name, a group holding that
    command only (typer builds every command's options from its signature: ~20 ms for all of them,
    half of it for the others); the whole group for anything else (`--help`, `--version`, an
    unknown name, shell completion, which reads the whole tree)."""
    name = argv[0] if argv else ""
    if not name.startswith("-") and not any(k.startswith("_KVALIDATE_COMPLETE") for k in os.environ):
        for info in app.registered_commands:
            if (info.name or typer.main.get_command_name(info.callback.__name__ if info.callback else "")) == name:
                one = copy.copy(app)
                one.registered_commands, one.registered_groups = [info], []
                return typer.main.get_command(one)
    return typer.main.get_command(app)


def _main(argv: list[str] | None) -> int:
    command = _command(sys.argv[1:] if argv is None else argv)
    try:
        code = command.main(args=argv, prog_name="kvalidate", standalone_mode=False)
    except SetupError as e:
        print(f"kvalidate: {' '.join(str(e).split())}", file=sys.stderr)  # one line, whatever the cause
        return 2
    except click.exceptions.NoArgsIsHelpError as e:
        print(e.format_message() if hasattr(e, "format_message") else str(e), file=sys.stderr)
        return 2
    except click.UsageError as e:
        print(f"kvalidate: {e.format_message()}", file=sys.stderr)
        return 2
    except click.exceptions.Abort as e:
        if isinstance(e.__cause__, KeyboardInterrupt):  # SIGINT with a handler other than ours
            print("kvalidate: interrupted", file=sys.stderr)
            return 130
        print("kvalidate: aborted", file=sys.stderr)
        return 2
    except click.ClickException as e:
        print(f"kvalidate: {e.format_message()}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("kvalidate: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 1
    except Exception as e:  # noqa: BLE001 - the promise is: never a traceback (unless asked for)
        if os.environ.get("KVALIDATE_DEBUG", "") not in ("", "0"):
            raise
        print(f"kvalidate: internal error: {type(e).__name__}: {' '.join(str(e).split())}", file=sys.stderr)
        return 2
    return code if isinstance(code, int) else 0


def run() -> None:
    """The `kvalidate` command (and `python -m kvalidate`): `main`, then the process ends without
    the interpreter's teardown, which frees every object of a run one by one (20-30 ms of a
    one-scenario check). Exit handlers still run (the compiled-code cache's flush) and the standard
    streams are flushed first; an in-process caller uses `main`, which returns."""
    code = main()
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe (`kvalidate check | head`), a closed stream
            code = code or 1
    os._exit(code)


if __name__ == "__main__":
    run()
