"""The command line: typer commands only (options -> request -> library call -> reporters -> exit
code). Imports of the library are deferred into the commands, so `kvalidate --help` and
`kvalidate validate` do not pay for the Ansible engine."""

from kvalidate.cli.app import app, main, run

__all__ = ["app", "main", "run"]
