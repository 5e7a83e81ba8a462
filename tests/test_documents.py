"""documents.py: go-yaml v2 typing, positions, duplicates, hostile input."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pytest

from kvalidate import documents
from kvalidate.documents import parse_text
from kvalidate.model import Position, Source

SRC = Source("t.yaml")


@pytest.mark.parametrize(
    ("scalar", "expected"),
    [
        ("2001-12-14", "2001-12-14"),  # PyYAML: datetime.date; go-yaml into interface{}: string
        ("2001-12-14T21:59:43.10-05:00", "2001-12-14T21:59:43.10-05:00"),
        ("y", True),  # go-yaml v2 bools include y/n (PyYAML: strings)
        ("N", False),
        ("yes", True),
        ("off", False),
        ("'yes'", "yes"),
        ('"y"', "y"),
        ("1e3", 1000.0),  # PyYAML: '1e3' string
        ("0o17", 15),  # PyYAML: string
        ("017", 15),
        ("0x1F", 31),
        ("0b101", 5),
        ("1_000", 1000),
        ("-12", -12),
        ("1.5", 1.5),
        ("1:20", "1:20"),  # PyYAML sexagesimal 80; go-yaml: string
        ("=", "="),  # PyYAML: ConstructorError
        ("~", None),
        ("null", None),
        ("", None),
        (".inf", float("inf")),
        ("!!str 12", "12"),
        ("!!binary aGVs bG8=", "aGVsbG8="),
        ("0644", 420),
        ("v1.33", "v1.33"),
        ("1.2.3", "1.2.3"),
        ("+", "+"),
        # go-yaml v2's resolve: ParseInt(s, 0, 64), ParseUint(s, 0, 64), then ParseFloat for the
        # yamlStyleFloat shape; what none accepts stays a string (sigs.k8s.io/yaml hands that to JSON)
        ("09", 9.0),  # not octal: ParseInt fails, ParseFloat takes it
        ("0_9", 9.0),
        ("-0x1F", -31),
        ("0X1f", 31),
        ("0B11", 3),
        ("9223372036854775807", 2**63 - 1),
        ("-9223372036854775808", -(2**63)),
        ("18446744073709551615", 2**64 - 1),  # ParseUint
        ("+18446744073709551615", 1.8446744073709552e19),  # ParseUint takes no sign: a float
        ("18446744073709551616", 1.8446744073709552e19),  # beyond 64 bits: ParseFloat
        ("-9223372036854775809", -9.223372036854776e18),
        ("1" * 400, "1" * 400),  # ParseFloat out of range: a string
        ("1" * 5000, "1" * 5000),  # beyond Python's int-to-string limit too
        ("0x" + "f" * 5000, "0x" + "f" * 5000),
        ("0" * 5000 + "17", 15),  # octal with many leading zeros is still 15
        ("1e400", "1e400"),
        ("1e-400", 0.0),
        (".5", 0.5),
        (".5_0", ".5_0"),  # ParseFloat refuses underscores without a base prefix
        ("0x", "0x"),
        ("٣", "٣"),  # a non-ASCII digit is no number to go-yaml
    ],
)
def test_scalars_typed_like_go_yaml_v2(scalar: str, expected: object) -> None:
    parsed = parse_text(f"v: {scalar}\n", SRC)
    assert parsed.findings == []
    assert parsed.documents[0].data == {"v": expected}
    assert type(parsed.documents[0].data["v"]) is type(expected)


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("1: a\n", "1"),
        ("true: a\n", "true"),
        ("y: a\n", "true"),
        ("on: a\n", "true"),
        ("1.5: a\n", "1.5"),
        ("'on': a\n", "on"),
    ],
)
def test_non_string_keys_become_strings_as_sigs_yaml_does(text: str, key: str) -> None:
    assert parse_text(text, SRC).documents[0].data == {key: "a"}


def test_positions_are_one_based_for_keys_and_items() -> None:
    text = "a:\n  b:\n    - x\n    - c: 1\n"
    doc = parse_text(text, SRC).documents[0]
    assert doc.positions[("a",)] == Position(1, 1)
    assert doc.positions[("a", "b")] == Position(2, 3)
    assert doc.positions[("a", "b", 1)] == Position(4, 7)
    assert doc.positions[("a", "b", 1, "c")] == Position(4, 7)
    assert doc.position(("a", "b", 1, "c", "missing")) == Position(4, 7)


def test_documents_index_and_empty_documents_skipped() -> None:
    text = "---\na: 1\n---\n---\n# only a comment\n---\nb: 2\n"
    parsed = parse_text(text, SRC)
    assert [(d.index, d.data) for d in parsed.documents] == [(0, {"a": 1}), (3, {"b": 2})]


def test_duplicate_keys_are_recorded_with_both_lines_and_last_wins() -> None:
    text = "metadata:\n  name: a\n  labels: {}\n  name: b\n"
    doc = parse_text(text, SRC).documents[0]
    assert doc.data["metadata"]["name"] == "b"
    assert doc.duplicates == [(("metadata", "name"), Position(4, 3), 2)]


@pytest.mark.parametrize(
    ("text", "duplicates"),
    [
        # an alias as a key: libyaml gives it its anchor's node; the duplicate is located at its value
        ("&x k: 1\n*x : 2\n", [(("k",), Position(2, 6), 1)]),
        ("a: &x k\n*x : 1\nk: 3\n", [(("k",), Position(3, 1), 1)]),
        ("a: &x k\n*x : 1\n", []),
    ],
)
def test_alias_keys(text: str, duplicates: list[object]) -> None:
    parsed = parse_text(text, SRC)
    assert parsed.findings == []
    assert [d.duplicates for d in parsed.documents] == [duplicates]


@pytest.mark.parametrize(("text", "line"), [("a: &x [1]\n*x : 2\n", 2), ("? &x [a]\n: 1\n", 1),
                                            ("? &x {a: 1}\n: 1\nb: *x\n", 1)])
def test_a_collection_as_a_key_is_a_finding_at_its_line(text: str, line: int) -> None:
    """go-yaml: `invalid map key`; the alias's line when the key is an alias."""
    parsed = parse_text(text, SRC)
    assert [(f.rule, f.line) for f in parsed.findings] == [("yaml-syntax", line)]


def test_merge_keys_explicit_keys_win() -> None:
    text = "base: &b {x: 1, z: 2}\nm:\n  <<: *b\n  z: 3\n"
    assert parse_text(text, SRC).documents[0].data["m"] == {"x": 1, "z": 3}


@pytest.mark.parametrize(
    ("text", "rule", "line"),
    [
        ("a: 1\n  b: 2\n", "yaml-syntax", 2),
        ("a: [1, 2\nb: 3\n", "yaml-syntax", 2),
        ("a: 'unterminated\n", "yaml-syntax", 2),
        ("a: !custom x\n", "yaml-syntax", 1),
        ("a: *nope\n", "yaml-syntax", 1),
    ],
)
def test_broken_yaml_is_a_finding_with_a_line(text: str, rule: str, line: int) -> None:
    parsed = parse_text(text, SRC)
    assert [(f.rule, f.line) for f in parsed.findings] == [(rule, line)]


def test_python_tags_construct_nothing() -> None:
    parsed = parse_text("a: !!python/object/apply:os.system [echo]\nb: !!python/name:os.system x\n", SRC)
    assert parsed.findings == [] or all(f.rule == "yaml-syntax" for f in parsed.findings)
    for doc in parsed.documents:
        assert all(isinstance(v, (str, list)) for v in doc.data.values())


def _bomb(levels: int = 9) -> str:
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, levels):
        lines.append(f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]")
    return "\n".join(lines) + "\n"


def test_billion_laughs_ends_as_a_finding() -> None:
    parsed = parse_text(_bomb(), SRC)
    assert parsed.documents == []
    assert [f.rule for f in parsed.findings] == ["yaml-limits"]
    assert "alias" in parsed.findings[0].message


def test_small_alias_use_is_fine() -> None:
    parsed = parse_text(_bomb(3), SRC)
    assert parsed.findings == []
    assert len(parsed.documents[0].data["a2"]) == 9


def _flow_dedent(n: int) -> str:
    """n block mappings, each key's sibling a flow list whose `]` sits at column 0: libyaml ignores
    indentation inside flow, kvalidate's indentation count drops to 0 there (libyaml's own limit,
    when it has one, is then reported as yaml-limits too)."""
    return "".join(" " * i + "x: [\n]\n" + " " * i + "a:\n" for i in range(n))


DEEP_BLOCKS = [
    # block mappings, one column per level (libyaml 0.2.6, in PyYAML 6.0.4, refuses > 1,000)
    "a:\n" + "".join(" " * i + "a:\n" for i in range(1, 2000)),
    "".join("  " * i + "a:\n" for i in range(400)),  # two columns per level, 301-1,000 levels
    # block sequences, one item per line
    "".join(" " * i + "-\n" for i in range(1500)),
    "".join("  " * i + "-\n" for i in range(400)),
    # mixed: a sequence at its mapping's column (two levels per column), compact `- a:` items
    "".join(" " * i + "a:\n" + " " * i + "-\n" for i in range(1100)),
    "".join(" " * i + "a:\n" + " " * i + "-\n" for i in range(200)),
    "".join("  " * i + "- a:\n" for i in range(600)),
    "".join("  " * i + "- a:\n" for i in range(200)),
    "- " * 200 + "a:\n" + "".join(" " * (400 + i) + "a:\n" for i in range(200)),
    "? " * 400 + "x\n",
]


@pytest.mark.parametrize(
    "text",
    [
        "[" * 100_000 + "]" * 100_000,
        "- " * 100_000 + "x\n",
        "a: " + "{a: " * 5000 + "1" + "}" * 5000,
        *DEEP_BLOCKS,
        _flow_dedent(1100),
    ],
)
def test_deep_nesting_is_a_finding_not_a_crash(text: str) -> None:
    parsed = parse_text(text, SRC)
    assert parsed.documents == []
    assert [f.rule for f in parsed.findings] == ["yaml-limits"]


@pytest.mark.parametrize("text", DEEP_BLOCKS)
def test_block_nesting_is_counted_before_libyaml_sees_it(text: str) -> None:
    line = documents._too_deep(text)
    assert 0 < line <= text.count("\n")
    finding = parse_text(text, SRC).findings[0]
    assert (finding.line, finding.message) == (line, "document nested deeper than 300 levels")


@pytest.mark.parametrize(
    "text",
    [
        "".join("  " * i + "a:\n" for i in range(290)) + "  " * 290 + "b: 1\n",
        "".join("    " * i + "a:\n" for i in range(290)) + "    " * 290 + "b: 1\n",
        "".join(" " * i + "a:\n" + " " * i + "- \n" for i in range(140)) + " " * 140 + "b: 1\n",
        "".join("  " * i + "- a:\n" for i in range(140)) + "  " * 140 + "- 1\n",
        # wide but shallow: a long rule line in a block scalar, a deep list that closes
        "a: |\n  " + "-" * 400 + "\nb: 1\n",
        "".join("  " * i + "a:\n" for i in range(250)) + "b:\n" + "".join("  " * i + "c:\n" for i in range(1, 250))
        + "  " * 250 + "d: 1\n",
    ],
)
def test_deep_but_within_the_limit_parses(text: str) -> None:
    parsed = parse_text(text, SRC)
    assert parsed.findings == []
    assert len(parsed.documents) == 1


def test_input_size_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(documents, "MAX_BYTES", 100)
    parsed = parse_text("a: " + "x" * 200 + "\n", SRC)
    assert [f.rule for f in parsed.findings] == ["yaml-limits"]


def test_json_input() -> None:
    parsed = parse_text('{"apiVersion": "v1", "kind": "ConfigMap", "data": {"a": "1"}}', SRC)
    assert parsed.documents[0].data["data"] == {"a": "1"}


def test_str_subclasses_are_parsed() -> None:
    from markupsafe import Markup

    assert parse_text(Markup("a: 1\n"), SRC).documents[0].data == {"a": 1}


@pytest.mark.parametrize(("text", "line"), [("a: 1\rb: [\n", 3), ("a: 1\r\nb: [\r\n", 3), ("a: 1\nb: [\n", 3),
                                            ("a: 1\u2028b: [", 2), ("a: 1\nb: [", 2), ("a: 1\n\x85b: [", 3)])
def test_lines_are_counted_as_yaml_counts_them(text: str, line: int) -> None:
    """A lone CR, NEL, LS or PS is a line break to libyaml and go-yaml alike: findings use their lines."""
    assert [(f.rule, f.line) for f in parse_text(text, SRC).findings] == [("yaml-syntax", line)]


def test_input_size_is_counted_in_utf8_bytes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(documents, "MAX_BYTES", 100)
    assert parse_text("a: " + "é" * 40 + "\n", SRC).findings == []  # 84 bytes
    parsed = parse_text("a: " + "é" * 60 + "\n", SRC)  # 64 characters, 124 bytes
    assert [f.rule for f in parsed.findings] == ["yaml-limits"]


INVALID_UTF8 = [
    # (bytes, findings (rule, line, column), data of the documents kept)
    (b"a: \xff\n", [("yaml-syntax", 1, 4)], []),
    (b"a: 1\n# comment \xc3\n", [("yaml-syntax", 2, 11)], []),
    (b"a: 1\n---\nb: x\xe2\x82\n---\nc: 3\n", [("yaml-syntax", 3, 5)], [{"a": 1}, {"c": 3}]),
    (b"a: 1\n---\nb: \xed\xa0\x80\n", [("yaml-syntax", 3, 4)], [{"a": 1}]),  # an encoded surrogate
    (b"a: \xc3\xa9\n", [], [{"a": "\u00e9"}]),
]


@pytest.mark.parametrize(("raw", "findings", "data"), INVALID_UTF8)
def test_invalid_utf8_is_a_finding_at_its_line(raw: bytes, findings: list[object], data: list[object]) -> None:
    """go-yaml refuses invalid UTF-8: a yaml-syntax finding at the first bad byte; the document
    holding it is dropped, the others are kept."""
    for text in (raw, raw.decode("utf-8", "surrogateescape")):  # bytes, or a file read as kvalidate reads it
        parsed = parse_text(text, SRC)
        assert [(f.rule, f.line, f.column) for f in parsed.findings] == findings
        assert [d.data for d in parsed.documents] == data
    if findings:
        assert "invalid UTF-8" in parsed.findings[0].message


def test_lone_surrogate_in_a_text_is_a_finding() -> None:
    parsed = parse_text("a: 1\nb: \ud800\n", SRC)
    assert [(f.rule, f.line, f.column) for f in parsed.findings] == [("yaml-syntax", 2, 4)]
    assert "U+D800" in parsed.findings[0].message


def test_files_keep_invalid_bytes_for_parse_text(tmp_path: Path) -> None:
    f = tmp_path / "bad.yaml"
    f.write_bytes(b"a: 1\nb: \xff\n")
    [(label, text)] = list(documents.iter_inputs([str(f)]))
    assert [(x.rule, x.line) for x in parse_text(text, Source(label)).findings] == [("yaml-syntax", 2)]


class _Stdin:
    """What sys.stdin offers: a text stream with a binary `buffer` (that counts what is read)."""

    def __init__(self, data: bytes) -> None:
        self.buffer = io.BytesIO(data)


@pytest.mark.parametrize(
    ("data", "rules"),
    [
        (b"a: 1\n" * 30, ["yaml-limits"]),  # 150 bytes
        (b"a: 1\n" * 20, []),  # 100 bytes: at the limit
        (b"a: \xff\n", ["yaml-syntax"]),
    ],
)
def test_stdin_is_limited_and_checked_like_a_file(monkeypatch: pytest.MonkeyPatch, data: bytes,
                                                   rules: list[str]) -> None:
    monkeypatch.setattr(documents, "MAX_BYTES", 100)
    stdin = _Stdin(data)
    monkeypatch.setattr(sys, "stdin", stdin)
    [(label, text)] = list(documents.iter_inputs(["-"]))
    assert label == "<stdin>"
    assert stdin.buffer.tell() <= 101  # never more than MAX_BYTES + 1 read
    assert [f.rule for f in parse_text(text, Source(label)).findings] == rules


def test_stdin_of_dev_zero_ends_as_a_finding() -> None:
    """`kvalidate validate - < /dev/zero` used to grow to 1.8 GB before a MemoryError: now it reads
    16 MiB + 1 and says so. Bounded generously (the read and the check take ~1 s and ~60 MB here)."""
    exe = Path(sys.executable).parent / "kvalidate"
    with open("/dev/zero", "rb") as zero:
        proc = subprocess.run([str(exe), "validate", "-"], stdin=zero, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1, proc.stderr
    assert proc.stdout.splitlines()[0] == \
        "<stdin>:1:1: error yaml-limits: input is more than 16777216 bytes, the most kvalidate reads"
    assert proc.stderr == ""
