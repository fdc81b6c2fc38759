"""Kernel walls for the lookahead sandbox: Linux's Landlock, asked directly through its three
system calls.

Landlock (Linux 5.13+, unprivileged) lets a process give up access for good: after
:func:`restrict`, this process and any it starts may read files only beneath the paths handed
in, write only beneath the writable ones, and (ABI 4+) open no TCP connection. A read the
Python audit hook cannot see — a C++ reader such as ``pyarrow.memory_map``, libc's ``fopen``
through ctypes, a thread — is refused by the kernel all the same.

No library is used: the calls are three syscalls with two small structs (the kernel's UAPI,
``linux/landlock.h``), and the packages that wrap them are pre-releases.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import sys
from collections.abc import Iterable

_CREATE_RULESET, _ADD_RULE, _RESTRICT_SELF = 444, 445, 446
"""The same numbers on every architecture (syscalls added after the tables were unified)."""
_VERSION = 1 << 0
_RULE_PATH_BENEATH = 1
_PR_SET_NO_NEW_PRIVS = 38

EXECUTE = 1 << 0
WRITE_FILE = 1 << 1
READ_FILE = 1 << 2
READ_DIR = 1 << 3
_FILE_RIGHTS = EXECUTE | WRITE_FILE | READ_FILE
_ABI_FS = {1: (1 << 13) - 1, 2: (1 << 14) - 1, 3: (1 << 15) - 1, 5: (1 << 16) - 1}
"""Every filesystem right each ABI knows (2: refer, 3: truncate, 5: ioctl on devices)."""
TRUNCATE = 1 << 14
_TCP = (1 << 0) | (1 << 1)  # bind, connect (ABI 4)
_SCOPES = (1 << 0) | (1 << 1)  # abstract unix sockets, signals (ABI 6)


class _RulesetAttr(ctypes.Structure):
    _fields_ = [
        ("handled_access_fs", ctypes.c_uint64),
        ("handled_access_net", ctypes.c_uint64),
        ("scoped", ctypes.c_uint64),
    ]


class _PathBeneath(ctypes.Structure):
    _pack_ = 1
    _fields_ = [
        ("allowed_access", ctypes.c_uint64),
        ("parent_fd", ctypes.c_int32),
    ]


def abi() -> int:
    """The Landlock ABI this kernel offers; 0 where there is none (not Linux, too old, off)."""
    if not sys.platform.startswith("linux"):
        return 0
    libc = ctypes.CDLL(None, use_errno=True)
    version = libc.syscall(_CREATE_RULESET, None, ctypes.c_size_t(0), ctypes.c_uint32(_VERSION))
    return max(0, int(version))


def restrict(readable: Iterable[str], writable: Iterable[str]) -> int:
    """Wall this process in: read (and run) only beneath ``readable``, read and write only
    beneath ``writable``, no TCP. Paths that do not exist are skipped. Returns the ABI that now
    holds the walls, 0 when the kernel offers none (nothing changed then)."""
    version = abi()
    if not version:
        return 0
    libc = ctypes.CDLL(None, use_errno=True)
    fs = _ABI_FS[max(v for v in _ABI_FS if v <= version)]
    attr = _RulesetAttr(fs, _TCP if version >= 4 else 0, _SCOPES if version >= 6 else 0)
    size = 24 if version >= 6 else 16 if version >= 4 else 8
    ruleset = libc.syscall(
        _CREATE_RULESET, ctypes.byref(attr), ctypes.c_size_t(size), ctypes.c_uint32(0)
    )
    if ruleset < 0:
        raise OSError(ctypes.get_errno(), "landlock_create_ruleset failed")
    try:
        for paths, rights in ((readable, EXECUTE | READ_FILE | READ_DIR), (writable, fs)):
            for path in paths:
                _allow(libc, ruleset, path, rights)
        if libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_NO_NEW_PRIVS) failed")
        if libc.syscall(_RESTRICT_SELF, ruleset, ctypes.c_uint32(0)) != 0:
            raise OSError(ctypes.get_errno(), "landlock_restrict_self failed")
    finally:
        os.close(ruleset)
    return version


def _allow(libc: ctypes.CDLL, ruleset: int, path: str, rights: int) -> None:
    try:
        fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
    except OSError:
        return  # not there: nothing to allow
    with contextlib.closing(_Fd(fd)):
        if not os.path.isdir(path):
            rights &= _FILE_RIGHTS | TRUNCATE  # a file takes only the rights of a file
        rule = _PathBeneath(rights, fd)
        if libc.syscall(_ADD_RULE, ruleset, _RULE_PATH_BENEATH, ctypes.byref(rule), 0) != 0:
            raise OSError(ctypes.get_errno(), f"landlock_add_rule failed for {path}")


class _Fd:
    def __init__(self, fd: int) -> None:
        self.fd = fd

    def close(self) -> None:
        os.close(self.fd)
