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


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_progress_lines_when_not_a_terminal() -> None:
    """Not a terminal (a CI log): a line at the first cell done 10 s after the start or the last line;
    none for the last cell; the findings count as the callback is given it."""
    import io

    from kvalidate.cli.app import progress_lines

    clock, out = FakeClock(), io.StringIO()
    update = progress_lines(out, interval=10.0, clock=clock)
    steps = [(4.0, 1, 0), (9.9, 2, 3), (10.0, 3, 3), (15.0, 4, 7), (20.5, 5, 12), (31.0, 6, 1), (60.0, 7, 20)]
    for t, done, found in steps:
        clock.now = 100.0 + t
        update(done, 7, found)
    assert out.getvalue().splitlines() == [
        "kvalidate: cells 3/7, 3 defects so far",
        "kvalidate: cells 5/7, 12 defects so far",
        "kvalidate: cells 6/7, 1 defect so far",
    ]


def test_check_prints_progress_lines_on_a_non_terminal(monkeypatch: pytest.MonkeyPatch,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    """`kvalidate check` with stderr not a terminal hands the library the line printer (the fake run
    advances the clock 6 s per cell)."""
    import time

    import kvalidate.api
    from kvalidate.cli import main
    from kvalidate.pinned import embedded_demo

    clock = FakeClock()
    monkeypatch.setattr(time, "monotonic", clock)

    def fake_run(request: Any, progress: Any, notes: Any) -> Result:
        for done in range(1, 6):
            clock.now += 6.0
            progress(done, 5, done * 2)
        return Result(files=1)

    monkeypatch.setattr(kvalidate.api, "check", fake_run)
    assert main(["check", str(embedded_demo()), "-f", "json=/dev/null"]) == 0
    assert capsys.readouterr().err.splitlines() == ["kvalidate: cells 2/5, 4 defects so far",
                                                    "kvalidate: cells 4/5, 8 defects so far"]
