"""The garbage collector while the ``rampart`` script starts.

Loading a command imports five to six hundred modules: hundreds of thousands of objects that
live as long as the process, which the collector walks again at every young and full
collection (about 4 % of a read-only command's instructions, a full collection among them).
The script (:mod:`rampart.cli.entry`) turns it off before it imports anything;
:func:`rampart.cli.common.friendly`, which every command's body runs in, calls :func:`resume`
before the body starts: what start-up built is frozen (never walked again, also a shorter
pause for a long-running service's later full collections) and the collector is back on for
everything the command does, so ``rampart run`` or a replay collects as before.

Only the script turns it off. A process that runs the app otherwise (the tests' CliRunner, an
embedding program) keeps its collector as it is: :func:`resume` changes nothing there.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

from rampart.wiring.replay_gc import start_up_frozen

_paused = False
_managed = False
"""The script paused the collector at its start: only then does :func:`loading` act."""


def pause() -> None:
    """Collector off until :func:`resume` (the script's first line)."""
    global _paused, _managed
    if gc.isenabled():
        gc.disable()
        _paused = _managed = True


def resume() -> None:
    """Freeze what start-up built and turn the collector back on, if :func:`pause` turned it
    off; otherwise nothing."""
    global _paused
    if _paused:
        _paused = False
        gc.freeze()
        start_up_frozen()
        gc.enable()


@contextmanager
def loading() -> Iterator[None]:
    """The collector off while a command's body imports what it needs (a replay loads the
    engine, SQLAlchemy, pyarrow and numpy only once it runs: ~60 % of its start-up), and what
    that built frozen after it, as :func:`resume` does for what the script loaded. Outside the
    script (the collector already off, or never paused) it changes nothing."""
    if not _managed or _paused or not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        start_up_frozen()
        gc.enable()
