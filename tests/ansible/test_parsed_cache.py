"""Parsed YAML kept across runs (`ansible.loader` through `codecache.DATA_CACHE`): what a run reads
back is the data PyYAML builds, of the same types, with the same lines for tasks."""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Any

import pytest
from ansible.utils.unsafe_proxy import AnsibleUnsafeText

from kvalidate.ansible import codecache, loader

ROOT = Path(__file__).resolve().parents[2]

CRAFTED = {
    "tasks.yml": """
- name: one
  block:
    - name: inner
      debug: {msg: "{{ x }}"}
    - &shared
      name: aliased task
      set_fact: {a: 1}
- *shared
- name: merge
  vars:
    base: &base {a: 1, b: [1, 2.5, null, true, "no", 'yes', 0x1F, 1e3, .inf]}
    over:
      <<: *base
      b: ünïcode ☃
    7: int key
    true: bool key
""",
    "unsafe.yml": "a: !unsafe '{{ lookup(\"pipe\", \"id\") }}'\nb: [!unsafe x]\n",
    "vault.yml": "secret: !vault |\n  $ANSIBLE_VAULT;1.1;AES256\n  6162\n",
    "date.yml": "when: 2001-01-01\n",
    "empty.yml": "",
}


def _walk_dicts(value: Any) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    stack = [value]
    while stack:
        v = stack.pop()
        if isinstance(v, dict):
            out.append(v)
            stack.extend(v.values())
        elif isinstance(v, list):
            stack.extend(v)
    return out


def _texts() -> dict[str, str]:
    files = {p.relative_to(ROOT).as_posix(): p.read_text(encoding="utf-8")
             for p in sorted((ROOT / "templates_under_test").rglob("*.yml"))}
    assert len(files) > 20
    return {**files, **CRAFTED}


def test_parsed_files_read_back_from_the_cache_are_what_pyyaml_builds(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    texts = _texts()
    monkeypatch.setattr(loader, "DATA_CACHE", codecache.CodeCache(tmp_path, codecache.DATA_PREFIX))
    fresh = {name: loader._parse(text) for name, text in texts.items()}
    lines = {name: [loader.yaml_line(d) for d in _walk_dicts(data)] for name, data in fresh.items()}
    assert any(n > 0 for n in lines["tasks.yml"])
    loader.DATA_CACHE.flush()

    # the next run: a new cache object on the same directory, and no PyYAML construction for what it kept
    monkeypatch.setattr(loader, "DATA_CACHE", codecache.CodeCache(tmp_path, codecache.DATA_PREFIX))
    built: list[str] = []
    real = loader._Loader

    class Counting(real):  # type: ignore[misc, valid-type]
        def __init__(self, stream: str) -> None:
            built.append(stream)
            super().__init__(stream)

    monkeypatch.setattr(loader, "_Loader", Counting)
    again = {name: loader._parse(text) for name, text in texts.items()}
    not_kept = {texts[n] for n in ("unsafe.yml", "date.yml")}
    assert set(built) == not_kept  # everything else came from the cache
    for name in texts:
        assert again[name] == fresh[name] and repr(again[name]) == repr(fresh[name]), name
        assert [loader.yaml_line(d) for d in _walk_dicts(again[name])] == lines[name], name
    assert type(again["unsafe.yml"]["a"]) is AnsibleUnsafeText
    assert isinstance(again["date.yml"]["when"], datetime.date)
    assert again["vault.yml"] == {"secret": loader.VAULT_PLACEHOLDER}
    tasks = again["tasks.yml"]
    assert tasks[0]["block"][1] is tasks[1]  # an alias is one object, as PyYAML builds it
    assert loader.yaml_line(tasks[0]) == 2 and loader.yaml_line(tasks[2]) == 10


def test_a_kept_entry_that_does_not_fit_its_lines_is_parsed_again(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    text = "- name: a\n  debug: {}\n"
    cache = codecache.CodeCache(tmp_path, codecache.DATA_PREFIX)
    monkeypatch.setattr(loader, "DATA_CACHE", cache)
    key = __import__("hashlib").blake2b(text.encode(), digest_size=20).hexdigest()
    cache.put_data(key, ([{"name": "wrong"}], (((5,), 1),)))  # a path that is not there
    cache.flush()
    monkeypatch.setattr(loader, "DATA_CACHE", codecache.CodeCache(tmp_path, codecache.DATA_PREFIX))
    data = loader._parse(text)
    assert data == [{"name": "a", "debug": {}}] and loader.yaml_line(data[0]) == 1


def test_plain_yaml_is_kept_and_every_call_gets_its_own_object(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    import yaml

    text = "a: {b: [1, 2]}\nc: &x [1]\nd: *x\n"
    monkeypatch.setattr(loader, "DATA_CACHE", codecache.CodeCache(tmp_path, codecache.DATA_PREFIX))
    first = loader.plain_yaml(text)
    loader.DATA_CACHE.flush()
    monkeypatch.setattr(loader, "DATA_CACHE", codecache.CodeCache(tmp_path, codecache.DATA_PREFIX))
    second = loader.plain_yaml(text)
    assert len(loader.DATA_CACHE._used) == 1  # read back from the cache
    assert second == first == yaml.load(text, Loader=yaml.CSafeLoader) and second["c"] is second["d"]
    second["a"]["b"].append(3)  # a caller's change is its own
    assert loader.plain_yaml(text) == first
    assert isinstance(loader.plain_yaml("x: 2001-01-01\n")["x"], datetime.date)  # not kept, still parsed
    with pytest.raises(yaml.YAMLError):
        loader.plain_yaml("a: [")
