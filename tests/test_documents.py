"""documents.py: go-yaml v2 typing, positions, duplicates, hostile input."""

from __future__ import annotations

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
