"""Native outputs read as Python literals (ansible_eval_concat), with the per-process memo of
`environment._literal`: a repeat gives the same value as a first reading, as a fresh object."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import pytest
from ansible.template.native_helpers import Json2Python

from kvalidate.ansible import environment
from kvalidate.ansible.codecache import DATA_PREFIX, CodeCache
from kvalidate.ansible.environment import eval_concat


def _plain(text: str) -> object:
    """What ansible-core's ansible_eval_concat makes of one output text."""
    try:
        return ast.literal_eval(ast.fix_missing_locations(Json2Python().visit(ast.parse(text, mode="eval"))))
    except (TypeError, ValueError, SyntaxError, MemoryError, RecursionError):
        return text


TEXTS = ['{"a": [1, 2.5, true, null], "b": {"c": "x"}}', "[1, 'two', (3, 4), {5}]", "True", "False",
         "{not a literal", "[1, 2] + [3]", "{'k': -0.0, 'big': 123456789012345678901234567890}",
         "[" * 70 + "]" * 70, '{"é": "\\u00e9 ünïcode"}']


@pytest.mark.parametrize("text", TEXTS)
def test_repeat_equals_first_reading(text: str) -> None:
    environment._LITERALS.clear()
    expected = _plain(text)
    first, second = eval_concat(iter([text])), eval_concat(iter([text]))
    for got in (first, second):
        assert got == expected and type(got) is type(expected)
        assert repr(got) == repr(expected)  # -0.0, tuple vs list, set: exact types and values
    if isinstance(expected, list | dict | set):
        assert first is not second  # a fresh object each time: a caller may change it
        if text.count("[") <= environment._LITERAL_BRACKETS:
            assert text in environment._LITERALS  # kept (not the deeply nested one)
        else:
            assert text not in environment._LITERALS


def test_mutating_a_result_does_not_change_the_next() -> None:
    environment._LITERALS.clear()
    text = '{"items": [1, 2]}'
    first = eval_concat(iter([text]))
    first["items"].append(3)
    first["new"] = True
    assert eval_concat(iter([text])) == {"items": [1, 2]}


def test_memo_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    environment._LITERALS.clear()
    monkeypatch.setattr(environment, "_LITERALS_MAX", 3)
    for i in range(10):
        assert eval_concat(iter([f"[{i}]"])) == [i]
    assert len(environment._LITERALS) == 3
    assert eval_concat(iter(["[9]"])) == [9]  # not kept, still read


@pytest.mark.parametrize("text", TEXTS)
def test_a_later_process_reads_what_an_earlier_one_parsed(text: str, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """Kept texts are kept across runs (the parsed-data cache): a fresh process gets the same value
    without parsing; a text past the bracket bound is parsed again."""
    expected = _plain(text)
    environment._LITERALS.clear()
    monkeypatch.setattr(environment, "DATA_CACHE", CodeCache(tmp_path, DATA_PREFIX))
    assert repr(eval_concat(iter([text]))) == repr(expected)
    environment.DATA_CACHE.flush()

    environment._LITERALS.clear()  # a new process: an empty memo, the cache file read afresh
    monkeypatch.setattr(environment, "DATA_CACHE", CodeCache(tmp_path, DATA_PREFIX))
    parsed: list[str] = []
    real_parse = ast.parse

    def counting_parse(source: str, *args: Any, **kwargs: Any) -> Any:
        parsed.append(source)
        return real_parse(source, *args, **kwargs)

    monkeypatch.setattr(environment.ast, "parse", counting_parse)
    got = eval_concat(iter([text]))
    assert repr(got) == repr(expected) and type(got) is type(expected)
    assert parsed == ([] if text.count("[") <= environment._LITERAL_BRACKETS else [text])
