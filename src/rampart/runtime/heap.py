"""Giving the C heap's free pages back to the system after a burst of work.

A backup or a report runs in a worker thread and allocates a few megabytes in C (SQLite's page
caches, the encryptor's chunks, a chart); freed, they stay in that thread's glibc arena, so the
service's resident memory steps up at every backup and never comes down, though nothing is held.
``malloc_trim(0)`` returns the free pages of every arena to the system. On a C library without
it (musl, macOS) nothing is done: the memory is still free for the process to use again.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
from collections.abc import Callable


@functools.cache
def _trim() -> Callable[[int], int] | None:
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name)
        trim = libc.malloc_trim
    except (OSError, AttributeError, TypeError):
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return trim


def give_back() -> bool:
    """Return the heap's free pages to the system; whether anything was given back (False
    also where the C library cannot)."""
    trim = _trim()
    return trim is not None and bool(trim(0))


__all__ = ["give_back"]
