"""A replay's equity charts, drawn by a child process started when the command starts.

Importing matplotlib and drawing the first PNG cost a ``rampart replay`` about 0.4 s, more
than the replay of a short file itself; the chart is now drawn with Pillow (a few hundredths
of a second), and the child still keeps that off the replay. ``rampart replay`` starts this
child first: it imports Pillow and draws one throwaway chart (font, PNG writer loaded) on the
second core while the parent imports the engine, loads the candles and trades. When a file's
replay has written its ``equity.csv``, the parent sends one line naming it and the PNG to draw;
the child reads the points back from the CSV (the exact floats: ``write_equity_csv`` writes
each float's shortest repr) and draws the same picture ``plot_equity`` draws in-process.

Protocol, one JSON object per line: the parent sends ``{"csv", "png", "title"}``; the child
answers ``{"png", "error"}`` (``error`` is None once the PNG is written, else one sentence and
no PNG is left). The parent closing the child's stdin (or dying) ends the child.

This module imports only the standard library at the top. The ``rampart`` script
(:mod:`rampart.cli.entry`) calls :func:`start_early` before it loads typer and the command's
module, a fifth of a second of a 1-candle replay that the child then spends importing
Pillow instead; the replay command's :meth:`ChartProcess.start` takes that child.
"""

from __future__ import annotations

import atexit
import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import IO

FINISH_TIMEOUT_S = 300.0
"""Longest the parent waits for the charts still being drawn when the replay is over."""

_early: list[ChartProcess] = []
"""The child :func:`start_early` started, until the replay command takes it."""


def usable_cores() -> int:
    """The CPUs this process may run on (its affinity where the system tells it)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # no affinity call on this system (macOS)
        return os.cpu_count() or 1


def start_early(argv: list[str]) -> bool:
    """Start the chart child now if ``argv`` (the arguments after ``rampart``) is a replay that
    will draw its charts on a second core. Returns whether it started one.

    A replay whose arguments turn out wrong never takes the child: it is killed at exit."""
    if argv[:1] != ["replay"] or {"--no-chart", "--help", "-h"} & set(argv):
        return False
    if usable_cores() < 2:  # nothing to overlap with: the replay draws in-process at the end
        return False
    _early.append(ChartProcess.spawn())
    atexit.register(_close_unclaimed)
    return True


def _close_unclaimed() -> None:
    while _early:
        _early.pop().close()


@dataclass(slots=True)
class ChartProcess:
    """The parent's handle on the child drawing its equity charts."""

    proc: subprocess.Popen[str]
    sent: list[Path] = field(default_factory=list)

    @classmethod
    def start(cls) -> ChartProcess:
        """The child :func:`start_early` started for this command, else a new one."""
        return _early.pop() if _early else cls.spawn()

    @classmethod
    def spawn(cls) -> ChartProcess:
        proc = subprocess.Popen(
            [sys.executable, "-m", "rampart.reports.chart_process"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            encoding="utf-8",
        )
        return cls(proc)

    def draw(self, equity_csv: Path, png: Path, title: str) -> None:
        """Ask for ``png`` to be drawn from ``equity_csv``; returns at once."""
        request = {"csv": str(equity_csv), "png": str(png), "title": title}
        stdin = self._stdin()
        try:
            stdin.write(json.dumps(request) + "\n")
            stdin.flush()
        except OSError:  # the child is gone: finish() says so for this chart
            pass
        self.sent.append(png)

    def finish(self, timeout: float = FINISH_TIMEOUT_S) -> dict[Path, str | None]:
        """Wait for every chart asked for: PNG → None when drawn, else why it was not."""
        try:
            out, _ = self.proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            out, _ = self.proc.communicate()
            reason = f"the chart process did not finish within {timeout:.0f} s"
            return dict.fromkeys(self.sent, reason)
        answers: dict[Path, str | None] = {}
        for line in out.splitlines():
            try:
                answer = json.loads(line)
                answers[Path(answer["png"])] = answer["error"]
            except (ValueError, KeyError, TypeError):
                continue  # not an answer (a library printing to stdout)
        gone = f"the chart process ended without drawing it (exit code {self.proc.returncode})"
        return {png: answers.get(png, gone) for png in self.sent}

    def close(self) -> None:
        """End the child at once (the replay failed: no chart is wanted any more)."""
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.communicate()

    def _stdin(self) -> IO[str]:
        stdin = self.proc.stdin
        if stdin is None:  # pragma: no cover - started with stdin=PIPE
            raise RuntimeError("the chart process has no stdin")
        return stdin

    def __enter__(self) -> ChartProcess:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def _warm_up() -> None:
    """Load what the first real chart would load: Pillow, its font and the PNG writer."""
    import io

    from rampart.extras import MissingExtra
    from rampart.reports.equity_chart import draw_equity

    try:
        draw_equity([(0, 1.0), (60_000, 2.0)], io.BytesIO(), "warm-up")
    except MissingExtra:
        return  # each request answers with the sentence saying so


def _answer(request: dict[str, str]) -> str | None:
    from rampart.extras import MissingExtra
    from rampart.reports.equity_chart import draw_equity, read_equity_csv

    png = Path(request["png"])
    try:
        draw_equity(read_equity_csv(Path(request["csv"])), png, request["title"])
    except MissingExtra as exc:
        png.unlink(missing_ok=True)  # never leave an older run's curve behind
        return exc.message
    except Exception as exc:  # reported to the parent, which says it in the run's output
        png.unlink(missing_ok=True)
        return f"{type(exc).__name__}: {exc}"
    return None


def main() -> None:
    import signal

    # Ctrl-C reaches the whole process group: the parent stops its replay cleanly and closes
    # our stdin, which ends this process; a KeyboardInterrupt here would only print a trace.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _warm_up()
    for line in sys.stdin:
        request = json.loads(line)
        answer = {"png": request["png"], "error": _answer(request)}
        sys.stdout.write(json.dumps(answer) + "\n")
        sys.stdout.flush()
    # Every PNG is written and closed: skip tearing the interpreter down, which the
    # parent would wait for.
    os._exit(0)


if __name__ == "__main__":
    main()
