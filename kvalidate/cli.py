"""Command line: options -> library call -> reporters -> exit code.

Exit codes: 0 no error finding, 1 error findings, 2 unusable input or usage (one line on stderr,
never a traceback).
"""

from __future__ import annotations

import sys
from contextlib import ExitStack
from pathlib import Path
from typing import Annotated, Any, TextIO

import click
import typer

from .model import Result, SetupError
from .pinned import embedded_demo
from .report import REPORTERS
from .schemastore import SchemaStore
from .tree import DirTree
from .validate import tune_gc, validate_paths

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Render Kubespray templates as Ansible would and validate every output strictly.")


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


FormatOpt = Annotated[list[str] | None, typer.Option(
    "--format", "-f", metavar="NAME[=PATH]",
    help=f"Report format ({', '.join(REPORTERS)}), optionally written to PATH; repeatable.")]
KubeVersionOpt = Annotated[str | None, typer.Option(
    "--kube-version", metavar="X.Y", help="Kubernetes minor whose API schemas apply (default: newest).")]


def parse_formats(specs: list[str] | None) -> list[tuple[str, str | None]]:
    out: list[tuple[str, str | None]] = []
    for spec in specs or ["text"]:
        name, _, path = spec.partition("=")
        if name not in REPORTERS:
            raise SetupError(f"unknown format {name!r}: choose from {', '.join(REPORTERS)}")
        out.append((name, path or None))
    return out


def emit(result: Result, formats: list[tuple[str, str | None]]) -> None:
    with ExitStack() as stack:
        for name, path in formats:
            stream: TextIO = sys.stdout
            if path:
                try:
                    stream = stack.enter_context(open(path, "w", encoding="utf-8"))  # noqa: SIM115
                except OSError as e:
                    raise SetupError(f"cannot write report {path}: {e.strerror or e}") from e
            REPORTERS[name](result, stream)


@app.command()
def validate(
    paths: Annotated[list[str], typer.Argument(help="Files, directories (*.yaml, *.yml, *.json) or - for stdin.")],
    kube_version: KubeVersionOpt = None,
    fmt: FormatOpt = None,
    crds: Annotated[list[Path] | None, typer.Option(
        "--crds", metavar="PATH", help="CustomResourceDefinitions (file or directory) to validate custom "
        "resources against; repeatable.")] = None,
) -> None:
    """Validate rendered Kubernetes YAML strictly, as the API server would."""
    formats = parse_formats(fmt)
    store = SchemaStore.for_version(kube_version)
    if crds:
        from .crdload import load_crds

        load_crds(store, [str(p) for p in crds])
    tune_gc()
    result = validate_paths(paths, store)
    emit(result, formats)
    raise typer.Exit(result.exit_code())


@app.command()
def demo(
    jobs: Annotated[int, typer.Option("--jobs", "-j", help="Worker processes (0: one per core).")] = 0,
    fmt: FormatOpt = None,
) -> None:
    """The main job on the embedded default (what `make run` runs): `kvalidate check` on
    templates_under_test, a small Kubespray-shaped checkout with deliberate bugs, over its matrix
    (templates_under_test/kvalidate.yaml)."""
    from .check import CheckOptions, default_jobs, is_terminal, run_check
    from .kubespray.checkout import open_checkout
    from .plan import Overrides, find_config, plan_cells

    formats = parse_formats(fmt)
    root = embedded_demo()  # inside the installed package, or templates_under_test/ of a source checkout
    cells = plan_cells(open_checkout(DirTree(root)), find_config(root, None), Overrides(),
                       checkout_arg="templates_under_test")
    options = CheckOptions(checkout=root, cells=tuple(cells), jobs=jobs or default_jobs())
    result = _with_progress(options, run_check, is_terminal())
    emit(result, formats)
    raise typer.Exit(result.exit_code())


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
) -> None:
    """Render one template as Ansible's template module would; write exactly the text to stdout."""
    from .ansible import parse_extra_vars, render_template
    from .model import Finding, Severity, Source

    text, findings = render_template(template, parse_extra_vars(extra or [], vars_files or []))
    if text is None:
        for f in findings:
            where = f"{f.template}:{f.template_line}" if f.template_line else f.template
            print(f"{where}: {f.severity.value} [{f.rule}] {f.message}", file=sys.stderr)
        raise typer.Exit(1)
    if not check:
        sys.stdout.buffer.write(text.encode("utf-8"))
        sys.stdout.flush()
        raise typer.Exit(0)
    from .validate import validate_text

    source = Source(file=str(template), template=str(template))
    found: list[Finding] = [*findings, *validate_text(text, source, kube_version)]
    result = Result(findings=found, files=1)
    emit(result, parse_formats(fmt))
    raise typer.Exit(1 if any(f.severity is Severity.ERROR for f in found) else 0)


@app.command()
def check(
    checkout: Annotated[Path, typer.Argument(
        help="A Kubespray checkout (default: the current directory).")] = Path("."),
    scenario: Annotated[list[str] | None, typer.Option(
        "--scenario", metavar="FILE",
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
    kube_version: KubeVersionOpt = None,
    facts: Annotated[list[Path] | None, typer.Option("--facts", metavar="FILE", help="Host facts overlay.")] = None,
    config: Annotated[Path | None, typer.Option(
        "--config", metavar="FILE", help="Matrix file (default: kvalidate.yaml at the checkout's root).")] = None,
    no_config: Annotated[bool, typer.Option("--no-config", help="Ignore the checkout's kvalidate.yaml.")] = False,
    ref: Annotated[list[str] | None, typer.Option(
        "--ref", metavar="REF", help="Render the checkout as it is at a git ref (read from git objects); "
        "repeatable.")] = None,
    shard_spec: Annotated[str | None, typer.Option(
        "--shard", metavar="I/N", help="Run shard I of N of the cells.")] = None,
    jobs: Annotated[int, typer.Option("--jobs", "-j", help="Worker processes (0: one per core).")] = 0,
    emit_dir: Annotated[Path | None, typer.Option(
        "--emit", metavar="DIR", help="Write every rendering as DIR/HOST/DEST.")] = None,
    auto: Annotated[bool, typer.Option(
        "--auto", help="Automatic coverage: per template, its task's gate held open and every pair of the "
        "values its own conditionals test, as extra cells on top of the first cell.")] = False,
    fmt: FormatOpt = None,
) -> None:
    """Render a Kubespray checkout as cluster.yml would, per host and cell, and validate every output."""
    from .ansible import parse_extra_vars
    from .check import CheckOptions, default_jobs, is_terminal, run_check
    from .kubespray.checkout import open_checkout
    from .plan import Overrides, find_config, plan_cells

    formats = parse_formats(fmt)
    root = checkout.resolve()
    if not root.is_dir():
        raise SetupError(f"cannot read checkout {checkout}: no such directory")
    if emit_dir is not None and (emit_dir.resolve() == root or root in emit_dir.resolve().parents):
        raise SetupError(f"--emit {emit_dir} is inside the checkout: kvalidate never writes into the checkout")
    refs = tuple(ref or ())
    from .gittree import GitTree

    if refs:
        first = open_checkout(GitTree(root, refs[0]))
    else:
        first = open_checkout(DirTree(root))
    matrix = None if no_config else find_config(root, config)
    over = Overrides(extra_vars=parse_extra_vars(extra or [], vars_files or []), scenarios=tuple(scenario or ()),
                     layout=layout or "", os=os_name or "", inventory=str(inventory.resolve()) if inventory else "",
                     kube_version=kube_version or "")
    notes: list[str] = []
    wants_auto = auto or (matrix is not None and matrix.auto)
    others = [open_checkout(GitTree(root, r)) for r in refs[1:]] if wants_auto else []
    cells = plan_cells(first, matrix, over, shard_spec, checkout_arg=str(checkout), auto=auto,
                       more_checkouts=others, notes=notes)
    for note in notes:
        print(f"kvalidate: {note}", file=sys.stderr)
    options = CheckOptions(checkout=root, cells=tuple(cells), refs=refs, hosts=tuple(host or ()),
                           kube_version=kube_version, facts_files=tuple(facts or ()), emit_dir=emit_dir,
                           jobs=jobs or default_jobs())
    result = _with_progress(options, run_check, is_terminal())
    emit(result, formats)
    raise typer.Exit(result.exit_code())


def _with_progress(options: Any, run: Any, tty: bool, delay: float = 1.0) -> Result:
    """A progress bar on stderr when it is a terminal, for runs of more than one cell that last
    longer than `delay` seconds (it appears at the first cell done after that, and is erased)."""
    total = len(options.cells) * max(1, len(options.refs))
    if not tty or total < 2:
        return run(options)  # type: ignore[no-any-return]
    import time

    from rich.console import Console
    from rich.progress import Progress

    start = time.monotonic()
    bars: list[tuple[Progress, Any]] = []

    def update(done: int, total: int) -> None:
        if not bars:
            if time.monotonic() - start < delay:
                return
            bar = Progress(transient=True, console=Console(stderr=True))
            bar.start()
            bars.append((bar, bar.add_task("cells", total=total)))
        bars[0][0].update(bars[0][1], completed=done)

    try:
        return run(options, update)  # type: ignore[no-any-return]
    finally:
        for bar, _ in bars:
            bar.stop()


@app.command()
def merge(
    reports: Annotated[list[str], typer.Argument(help="JSON reports (e.g. one per --shard) to merge.")],
    fmt: FormatOpt = None,
) -> None:
    """Merge JSON reports of shards into one and write any report format from it."""
    from .report import json_report

    formats = parse_formats(fmt)
    result = json_report.merge([json_report.read(r) for r in reports])
    emit(result, formats)
    raise typer.Exit(result.exit_code())


def _add_schemas_group() -> None:
    from .schemacmd import schemas_app

    app.add_typer(schemas_app, name="schemas")


_add_schemas_group()


@app.command("config-schema")
def config_schema_cmd() -> None:
    """Print the JSON Schema of kvalidate.yaml (for editors and CI linting)."""
    import json

    from .config import config_schema

    print(json.dumps(config_schema(), indent=2))


def main(argv: list[str] | None = None) -> int:
    """Entry point: never a traceback; SetupError and usage errors are one line and exit 2."""
    command = typer.main.get_command(app)
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
    except click.exceptions.Abort:
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
    except Exception as e:  # noqa: BLE001 - the promise is: never a traceback
        print(f"kvalidate: internal error: {type(e).__name__}: {' '.join(str(e).split())}", file=sys.stderr)
        return 2
    return code if isinstance(code, int) else 0


def run() -> None:
    sys.exit(main())


if __name__ == "__main__":
    run()
