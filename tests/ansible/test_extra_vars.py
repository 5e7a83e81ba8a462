"""`-e` and `--vars` that are not UTF-8 (issue #11, item 9): a one-line exit 2 naming the argument.

Why exit 2 and not a finding: the extra vars are the user's own command line, not content under
check; a value no UTF-8 text can hold would otherwise fail in every template that uses it (the demo's
87 findings became 25 internal-errors)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from kvalidate.ansible import parse_extra_vars
from kvalidate.model import SetupError

EXE = Path(sys.executable).parent / "kvalidate"


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("a=\udcff", "extra vars 'a=\\xff' are not valid UTF-8"),  # byte 0xff as Python decodes argv
        ('{"a": "\udcc3"}', "extra vars '{\"a\": \"\\xc3\"}' are not valid UTF-8"),
        ('{"a": "\\ud800"}', "extra vars hold text that is not valid UTF-8 (a lone surrogate): '\\ud800'"),
        ('{"a": ["x", {"\\udcff": 1}]}', "extra vars hold text that is not valid UTF-8 (a lone surrogate): '\\xff'"),
    ],
)
def test_extra_vars_not_utf8_are_a_setup_error(spec: str, message: str) -> None:
    with pytest.raises(SetupError) as e:
        parse_extra_vars([spec])
    assert str(e.value) == message


def test_vars_file_not_utf8_is_a_setup_error(tmp_path: Path) -> None:
    f = tmp_path / "v.yml"
    f.write_bytes(b"a: 1\nb: \xff\n")
    for call in (lambda: parse_extra_vars([], [f]), lambda: parse_extra_vars([f"@{f}"])):
        with pytest.raises(SetupError, match=r"not valid UTF-8 \(byte 0xff at offset 8\)"):
            call()


def test_utf8_extra_vars_are_kept() -> None:
    assert parse_extra_vars(["a=é", '{"b": "ü"}']) == {"a": "é", "b": "ü"}


@pytest.mark.parametrize("command", ["render", "check"])
def test_invalid_utf8_argument_is_one_line_exit_2(tmp_path: Path, command: str) -> None:
    t = tmp_path / "t.yaml.j2"
    t.write_text("a: {{ a }}\n")
    args = [str(EXE).encode(), command.encode(), *([str(t).encode()] if command == "render" else []),
            b"-e", b"a=\xff"]
    proc = subprocess.run(args, capture_output=True, timeout=120, cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr == b"kvalidate: extra vars 'a=\\xff' are not valid UTF-8\n"
