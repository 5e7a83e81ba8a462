"""`python -m kvalidate`: the command line."""

from kvalidate.cli import run

run()
