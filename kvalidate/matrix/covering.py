"""Covering arrays: a small set of rows in which every t-tuple of values appears (t = 2: pairwise).

Why our own: allpairspy (the PyPI library for this) returned 3-wise arrays that miss triples
(10 boolean axes, n=3: 12 rows, not all triples covered; checked 2026-11), and a matrix that
silently drops combinations is worse than none. This greedy construction (AETG-style, fully
deterministic) covers every t-tuple by construction; `uncovered()` verifies it in the tests.

Exclusions (`exclude` rules of the matrix file) are honoured while rows are built: a tuple that an
exclusion forbids on its own is not required, and a row never completes an exclusion if another
value can be chosen.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Mapping, Sequence
from typing import Any

CANDIDATES = 12  # rows tried per step; the one covering most uncovered tuples is kept
Row = dict[str, Any]
Exclusion = Mapping[str, Sequence[Any]]  # axis -> values that match (a rule matches when all its axes match)


def _matches(rule: Exclusion, row: Mapping[str, Any]) -> bool:
    return all(axis in row and row[axis] in values for axis, values in rule.items())


def forbidden(rules: Sequence[Exclusion], row: Mapping[str, Any]) -> bool:
    """True when some rule has all of its axes assigned in `row` and matches."""
    return any(all(a in row for a in rule) and _matches(rule, row) for rule in rules)


def _tuples(axes: Sequence[tuple[str, Sequence[Any]]], t: int,
            rules: Sequence[Exclusion]) -> set[tuple[tuple[int, int], ...]]:
    """All t-tuples as ((axis index, value index), ...), minus those an exclusion forbids."""
    out: set[tuple[tuple[int, int], ...]] = set()
    for combo in itertools.combinations(range(len(axes)), t):
        for vals in itertools.product(*(range(len(axes[i][1])) for i in combo)):
            tup = tuple(zip(combo, vals, strict=True))
            row = {axes[i][0]: axes[i][1][v] for i, v in tup}
            if not forbidden(rules, row):
                out.add(tup)
    return out


def covering_rows(axes: Mapping[str, Sequence[Any]], strength: int = 2,
                  exclude: Sequence[Exclusion] = ()) -> list[Row]:
    """Rows (axis -> value) covering every `strength`-tuple of values not forbidden by `exclude`."""
    items = [(name, list(values)) for name, values in axes.items()]
    if not items:
        return [{}]
    t = min(strength, len(items))
    uncovered = _tuples(items, t, exclude)
    rows: list[Row] = []
    rng = random.Random(len(items) * 1000 + t)  # seeded: the same axes always give the same rows
    while uncovered:
        best_row: dict[int, int] = {}
        best_cover: set[tuple[tuple[int, int], ...]] = set()
        for attempt in range(CANDIDATES):
            order = list(range(len(items)))
            if attempt:
                rng.shuffle(order)
            row = _candidate(items, uncovered, exclude, t, min(uncovered) if attempt == 0 else
                             sorted(uncovered)[rng.randrange(len(uncovered))], order)
            cover = {tup for tup in _row_tuples(row, t) if tup in uncovered}
            if len(cover) > len(best_cover):
                best_row, best_cover = row, cover
        if not best_cover:  # cannot happen: a candidate always covers its seed; guards an endless loop
            break
        uncovered -= best_cover
        rows.append({items[i][0]: items[i][1][v] for i, v in sorted(best_row.items())})
    return rows


def _candidate(items: Sequence[tuple[str, Sequence[Any]]], uncovered: set[tuple[tuple[int, int], ...]],
               exclude: Sequence[Exclusion], t: int, seed: tuple[tuple[int, int], ...],
               order: Sequence[int]) -> dict[int, int]:
    """One row: the seed tuple, then for each other axis (in `order`) the value covering most."""
    chosen: dict[int, int] = dict(seed)
    for i in order:
        if i in chosen:
            continue
        best, best_gain = 0, -1
        for v in range(len(items[i][1])):
            trial = {items[j][0]: items[j][1][w] for j, w in chosen.items()}
            trial[items[i][0]] = items[i][1][v]
            if forbidden(exclude, trial):
                continue
            gain = _gain(uncovered, chosen, i, v, t)
            if gain > best_gain:
                best, best_gain = v, gain
        chosen[i] = best
    return chosen


def _gain(uncovered: set[tuple[tuple[int, int], ...]], chosen: Mapping[int, int], i: int, v: int,
          t: int) -> int:
    """How many uncovered tuples made only of assigned axes plus (i, v) this value would cover."""
    others = sorted(chosen)
    n = 0
    for combo in itertools.combinations(others, t - 1):
        tup = tuple(sorted([*((j, chosen[j]) for j in combo), (i, v)]))
        if tup in uncovered:
            n += 1
    return n


def _row_tuples(row: Mapping[int, int], t: int) -> list[tuple[tuple[int, int], ...]]:
    return [tuple((i, row[i]) for i in combo) for combo in itertools.combinations(sorted(row), t)]


def uncovered(axes: Mapping[str, Sequence[Any]], rows: Sequence[Mapping[str, Any]], strength: int = 2,
              exclude: Sequence[Exclusion] = ()) -> list[dict[str, Any]]:
    """The required t-tuples no row covers (empty when `rows` is a covering array)."""
    items = [(name, list(values)) for name, values in axes.items()]
    t = min(strength, len(items))
    missing = []
    for tup in sorted(_tuples(items, t, exclude)):
        want = {items[i][0]: items[i][1][v] for i, v in tup}
        if not any(all(r.get(k) == val for k, val in want.items()) for r in rows):
            missing.append(want)
    return missing


def relax_rows(rows: Sequence[Mapping[str, Any]], strength: int = 2) -> list[Row]:
    """`rows` with the values no tuple needs left out: a value is dropped from a row when every
    `strength`-tuple it completes there is also covered by another row. A dropped value is a
    "don't care": the row packs with any value of that axis (automatic coverage then packs it into
    a cell another network plugin, say, has already opened). Axes with the most values go first
    (they are the ones that keep rows apart); deterministic."""
    out = [dict(r) for r in rows]
    if strength < 2:
        return out
    counts: dict[tuple[tuple[str, Any], ...], int] = {}

    def tuples(row: Mapping[str, Any], axis: str) -> list[tuple[tuple[str, Any], ...]]:
        others = sorted(k for k in row if k != axis)
        return [tuple(sorted([(axis, _key(row[axis])), *((k, _key(row[k])) for k in combo)]))
                for combo in itertools.combinations(others, strength - 1)]

    for row in out:
        for combo in itertools.combinations(sorted(row), strength):
            key = tuple((k, _key(row[k])) for k in combo)
            counts[key] = counts.get(key, 0) + 1
    width: dict[str, set[str]] = {}
    for row in out:
        for k, v in row.items():
            width.setdefault(k, set()).add(_key(v))
    for axis in sorted(width, key=lambda a: (-len(width[a]), a)):
        for row in out:
            if axis not in row or len(row) <= 1:
                continue
            mine = tuples(row, axis)
            if all(counts[t] > 1 for t in mine):
                for t in mine:
                    counts[t] -= 1
                del row[axis]
    return out


def _key(value: Any) -> str:
    """A hashable, type-exact stand-in for a value (True and 1 differ; lists and dicts compare)."""
    return f"{type(value).__name__}:{value!r}"
