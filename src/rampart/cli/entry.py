"""The ``rampart`` script.

It runs the compiled core when ``make setup`` built it and it matches the source
(:mod:`rampart.cli.compiled_core`; ``RAMPART_PURE=1`` runs the source), compiles the text that
dataclasses and typing generate through a cache kept between runs
(:mod:`rampart.cli.codecache`) and turns the garbage collector off while the command loads
(:mod:`rampart.cli.collector`).
"""

from __future__ import annotations

import os


def main() -> None:
    # Rampart uses no pydantic plugin; looking for one reads every installed package's entry
    # points (~2 % of a command's start-up). Setting the variable yourself decides it.
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
    from rampart.cli.compiled_core import prefer_compiled

    prefer_compiled()  # before the rest of rampart is imported: from the build or the source
    from rampart.cli.codecache import install

    install()  # before anything builds a dataclass (rampart.cli.codecache)
    from rampart.cli.collector import pause

    pause()  # until the command's body starts (rampart.cli.collector)
    from rampart.cli.main import main as run

    run()


if __name__ == "__main__":
    main()
