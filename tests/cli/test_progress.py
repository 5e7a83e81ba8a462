"""The progress bar of `kvalidate check`: only on a terminal, for more than one cell, once the run
has lasted `delay` seconds; on stderr; stopped whatever happens."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest
import rich.progress

from kvalidate.cli.app import progress_bar
from kvalidate.model import Result


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


def _run(progress: Any, total: int) -> Result:
    if progress is not None:
        for done in range(1, total + 1):
            progress(done, total)
    return Result()


@pytest.mark.parametrize(("total", "tty", "delay", "events"), [
    (2, False, 0.0, None),  # not a terminal
    (1, True, 0.0, None),  # one cell
    (2, True, 3600.0, None),  # a short run
    (2, True, 0.0, [("stderr", True), ("start", None), ("total", 2), ("done", 1), ("done", 2), ("stop", None)]),
])
def test_progress(monkeypatch: pytest.MonkeyPatch, total: int, tty: bool, delay: float,
                  events: list[tuple[str, Any]] | None) -> None:
    fake = FakeProgress()
    monkeypatch.setattr(rich.progress, "Progress", fake)
    with progress_bar(tty, delay) as progress:
        _run(progress, total)
    assert [bar.events for bar in fake.made] == ([events] if events else [])


def test_stopped_when_the_run_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeProgress()
    monkeypatch.setattr(rich.progress, "Progress", fake)
    with pytest.raises(RuntimeError), progress_bar(True, 0.0) as progress:
        assert progress is not None
        progress(1, 2)
        raise RuntimeError("boom")
    assert fake.made[0].events[-1] == ("stop", None)
