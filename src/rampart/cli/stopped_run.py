"""How a soak told to stop ends its process: at once, once its report is written."""

from __future__ import annotations

import logging
import os
import sys
from typing import NoReturn


def exit_at_once(code: int) -> NoReturn:
    """End the process now, its report written and flushed: a run told to stop has 10 s from
    the signal, and the interpreter's teardown (the modules of every library loaded, the
    threads left in the pool) takes seconds of them on a machine starved of CPU."""
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


__all__ = ["exit_at_once"]
