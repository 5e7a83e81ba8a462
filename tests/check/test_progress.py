"""The progress bar of `kvalidate check`: only on a terminal, for more than one cell, once the run
has lasted `delay` seconds; on stderr; stopped whatever happens."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest
import rich.progress

from kvalidate.cli import _with_progress
from kvalidate.model import Cell, Result


@dataclass
class Options:
    cells: tuple[Cell, ...]
    refs: tuple[str, ...] = ()


@dataclass
class FakeProgress:
    made: list[FakeProgress] = field(default_factory=list)
    events: list[tuple[str, Any]] = field(default_factory=list)

    def __call__(self, **kwargs: Any) -> FakeProgress:
        bar = FakeProgress()
        bar.events.append(("stderr", kwargs["console"].stderr))
        self.made.append(bar)
        return bar

    def start(self) -> None:
        self.events.append(("start", None))

    def stop(self) -> None:
        self.events.append(("stop", None))

    def add_task(self, name: str, total: int) -> int:
        self.events.append(("total", total))
        return 0

    def update(self, task: int, completed: int) -> None:
        self.events.append(("done", completed))


def _run(options: Options, progress: Any = None) -> Result:
    if progress is not None:
        for done in range(1, len(options.cells) * max(1, len(options.refs)) + 1):
            progress(done, len(options.cells))
    return Result()


TWO = (Cell("a"), Cell("b"))


@pytest.mark.parametrize(("cells", "refs", "tty", "delay", "events"), [
    (TWO, (), False, 0.0, None),  # not a terminal
    ((Cell("a"),), (), True, 0.0, None),  # one cell
    (TWO, (), True, 3600.0, None),  # a short run
    (TWO, (), True, 0.0, [("stderr", True), ("start", None), ("total", 2), ("done", 1), ("done", 2), ("stop", None)]),
    ((Cell("a"),), ("r1", "r2"), True, 0.0,
     [("stderr", True), ("start", None), ("total", 1), ("done", 1), ("done", 2), ("stop", None)]),
])
def test_progress(monkeypatch: pytest.MonkeyPatch, cells: tuple[Cell, ...], refs: tuple[str, ...], tty: bool,
                  delay: float, events: list[tuple[str, Any]] | None) -> None:
    fake = FakeProgress()
    monkeypatch.setattr(rich.progress, "Progress", fake)
    _with_progress(Options(cells, refs), _run, tty, delay)
    assert [bar.events for bar in fake.made] == ([events] if events else [])


def test_stopped_when_the_run_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeProgress()
    monkeypatch.setattr(rich.progress, "Progress", fake)

    def failing(options: Options, progress: Any) -> Result:
        progress(1, 2)
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        _with_progress(Options(TWO), failing, True, 0.0)
    assert fake.made[0].events[-1] == ("stop", None)
