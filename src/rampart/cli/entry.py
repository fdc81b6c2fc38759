"""The ``rampart`` script.

It compiles the text that dataclasses and typing generate through a cache kept between runs
(:mod:`rampart.cli.codecache`), turns the garbage collector off while the command loads
(:mod:`rampart.cli.collector`), and looks at its arguments before it imports anything
heavy: a replay that draws charts
starts its chart process first (:func:`rampart.reports.chart_process.start_early`), so that
the child imports Pillow while this process loads typer, the command and the engine.
"""

from __future__ import annotations

import sys


def main() -> None:
    from rampart.cli.codecache import install

    install()  # before anything builds a dataclass (rampart.cli.codecache)
    from rampart.cli.collector import pause
    from rampart.reports.chart_process import start_early

    pause()  # until the command's body starts (rampart.cli.collector)
    start_early(sys.argv[1:])  # a replay's chart process; nothing for any other command
    from rampart.cli.main import main as run

    run()


if __name__ == "__main__":
    main()
