"""The lookahead sandbox's walls, put up inside its process before the agent is imported.

Three layers, each catching what the one before cannot see:

1. **The kernel** (``rampart.research.landlock``, Linux): the process may read only Python, its
   libraries, the system's shared files and the agent's own files, write only in its empty
   working folder, and open no TCP connection. A C++ reader, libc through ctypes, a thread: the
   kernel says no to all of them alike.
2. **An audit hook** (PEP 578) and a few patched entry points: what the agent's code does is
   refused *and recorded* with its file and line, so the check can say what it tried — a file
   outside its own, a memory map, a native library loaded through ctypes, an import of ctypes,
   cffi, socket, subprocess or multiprocessing, a socket, a process, a thread, a path handed to
   a reader that opens files in C (pyarrow's ``memory_map``, ``feather``, ``parquet`` and
   ``ipc`` readers, ``numpy.fromfile``). "The agent's code" is a frame of its own files on the
   stack (``Watch.culprit``): a library importing itself, or Rampart's runner, is not the agent.
3. **The moved market** (``rampart.research.future_shift``): what leaks past both decides apart.
"""

from __future__ import annotations

import _thread
import contextlib
import importlib
import os
import sys
import threading
from collections.abc import Callable, Iterable
from types import FrameType
from typing import Any

from rampart.research.audit import MACHINE, Watch

SYSTEM_ROOTS = ("/usr", "/lib", "/lib64", "/etc", "/proc", "/dev", "/sys", "/opt/conda")
"""Shared libraries, locales, time zones, devices: never market data, and what libraries read
as they load."""
_REFUSED_IMPORTS = {
    "ctypes": "native code",
    "_ctypes": "native code",
    "cffi": "native code",
    "_cffi_backend": "native code",
    "socket": "network",
    "_socket": "network",
    "subprocess": "process",
    "_posixsubprocess": "process",
    "multiprocessing": "process",
}
_NATIVE_EVENTS = {"ctypes.dlopen", "ctypes.dlsym", "ctypes.dlsym/handle"}
_NET_EVENTS = {
    "socket.__new__",
    "socket.bind",
    "socket.connect",
    "socket.getaddrinfo",
    "socket.gethostbyname",
    "socket.sendto",
    "urllib.Request",
}
_PROCESS_EVENTS = {
    "subprocess.Popen",
    "os.system",
    "os.exec",
    "os.posix_spawn",
    "os.spawn",
    "os.fork",
    "os.forkpty",
    "pty.spawn",
}
_WATCHED = {"open", "mmap.__new__", "import", *_NATIVE_EVENTS, *_NET_EVENTS, *_PROCESS_EVENTS}
_READERS = (
    ("pyarrow", "memory_map"),
    ("pyarrow.lib", "memory_map"),
    ("pyarrow", "input_stream"),
    ("pyarrow.feather", "read_table"),
    ("pyarrow.feather", "read_feather"),
    ("pyarrow.parquet", "read_table"),
    ("pyarrow.ipc", "open_file"),
    ("pyarrow.ipc", "open_stream"),
    ("numpy", "fromfile"),
)
"""Readers that open a path in C, past Python's ``open`` and its audit event."""
WHY = "the lookahead sandbox lets an agent read only the candles it is handed and its own files"


class Refused(PermissionError):
    """What the agent's code tried and the sandbox refused."""


class Guard:
    def __init__(self, watch: Watch, workdir: str, owns: Callable[[str], bool]) -> None:
        self.watch = watch
        self.workdir = os.path.realpath(workdir)
        self._owns = owns
        roots = {os.path.realpath(p) for p in (sys.prefix, sys.base_prefix, sys.exec_prefix)}
        roots.update(os.path.realpath(p) for p in sys.path if p and os.path.isdir(p))
        self.library_roots = tuple(sorted(roots))

    def readable(self, extra: Iterable[str]) -> list[str]:
        """What the kernel lets it read: Python, its libraries, the system, ``extra``."""
        return [*self.library_roots, *SYSTEM_ROOTS, *extra]

    def allowed(self, path: str, writing: bool = False) -> bool:
        real = os.path.realpath(path)
        if real == self.workdir or real.startswith(self.workdir + os.sep):
            return True
        if writing:
            return False
        if real.startswith(MACHINE) or path.startswith(MACHINE):
            return True
        if self._owns(real):
            return True
        return any(real == r or real.startswith(r + os.sep) for r in self.library_roots)

    def refuse(self, kind: str, target: str, frame: FrameType | None) -> None:
        """Record ``kind``/``target`` at the agent's line (when the agent is on the stack) and
        refuse it; what is not the agent's doing goes on."""
        if self.watch.culprit(frame) is None:
            return
        self.watch.note(kind, target, frame)
        raise Refused(f"{target}: {WHY}")

    # -- the audit hook ---------------------------------------------------------------------

    def hook(self, event: str, args: tuple[Any, ...]) -> None:
        if event not in _WATCHED:
            return  # sys._getframe below raises an event of its own: not one of these
        try:
            frame: FrameType | None = sys._getframe(1)  # what raised the event
        except ValueError:  # raised from C with no Python frame: not the agent's code
            frame = None
        if event == "open":
            self._open(args, frame)
        elif event == "mmap.__new__":
            self._mmap(args, frame)
        elif event in _NATIVE_EVENTS:
            if not self._installed_library(event, args):
                self.refuse("native code", f"{event} {args[0] if args else ''}"[:120], frame)
        elif event in _NET_EVENTS:
            self.refuse("network", f"{event} {args[1:2] or ''}"[:120], frame)
        elif event in _PROCESS_EVENTS:
            self.refuse("process", f"{event} {args[0] if args else ''}"[:120], frame)
        elif event == "import":
            self._import(args, frame)

    def _installed_library(self, event: str, args: tuple[Any, ...]) -> bool:
        """A library shipped inside an installed Python package (scikit-learn's OpenMP, numpy's
        BLAS), opened or looked into through ctypes by the package itself (threadpoolctl under a
        model's ``fit``): no data. The main program's handle (``ctypes.CDLL(None)``, libc's
        ``fopen``) and a bare handle are still refused."""
        if event == "ctypes.dlopen":
            where = args[0] if args else None
        elif event == "ctypes.dlsym":
            where = getattr(args[0], "_name", None) if args else None
        else:
            return False
        if not isinstance(where, str) or not os.path.isabs(where):
            return False  # a bare name is searched for on the system's paths: libc's among them
        if ".so" not in os.path.basename(where):
            return False
        real = os.path.realpath(where)
        return any(real.startswith(r + os.sep) for r in self.library_roots)

    def _open(self, args: tuple[Any, ...], frame: FrameType | None) -> None:
        raw = args[0] if args else None
        if raw is None or isinstance(raw, int):
            return
        path = os.fsdecode(os.fspath(raw))
        mode = args[1] if len(args) > 1 and isinstance(args[1], str) else "r"
        writing = any(c in mode for c in "wax+")
        if not self.allowed(path, writing):
            how = "for writing" if writing else "for reading"
            self.refuse("file", f"{path} {how}", frame)

    def _mmap(self, args: tuple[Any, ...], frame: FrameType | None) -> None:
        fileno = args[0] if args else -1
        if not isinstance(fileno, int) or fileno < 0:
            return  # anonymous memory, no file
        try:
            path = os.readlink(f"/proc/self/fd/{fileno}")
        except OSError:
            path = f"file descriptor {fileno}"
        if not self.allowed(path):
            self.refuse("memory map", path, frame)

    def _import(self, args: tuple[Any, ...], frame: FrameType | None) -> None:
        name = str(args[0]) if args else ""
        kind = _REFUSED_IMPORTS.get(name.split(".")[0])
        if kind is None:
            return
        # The frame that asked for the import, past the import machinery: a library importing
        # what it needs is not the agent.
        while frame is not None and (
            frame.f_code.co_filename.startswith("<frozen")
            or frame.f_globals.get("__name__", "").startswith("importlib")
        ):
            frame = frame.f_back
        if frame is not None and frame.f_code.co_filename in self.watch.code:
            self.watch.note(kind, f"import {name}", frame)
            raise Refused(f"import {name}: {WHY}")

    # -- what the hook cannot see -----------------------------------------------------------

    def install(self) -> None:
        sys.addaudithook(self.hook)
        self._guard_threads()
        for module, attr in _READERS:
            with contextlib.suppress(ImportError, AttributeError):
                owner = importlib.import_module(module)
                setattr(owner, attr, self._reader(getattr(owner, attr), f"{module}.{attr}"))

    def _guard_threads(self) -> None:
        start = _thread.start_new_thread

        def guarded(function: Callable[..., Any], args: tuple[Any, ...], *rest: Any) -> int:
            frame = sys._getframe(1)
            if self.watch.culprit(frame) is not None:
                self.watch.note("thread", getattr(function, "__qualname__", "a thread"), frame)
                raise Refused(f"a thread: {WHY}, in its own thread of control")
            return start(function, args, *rest)

        _thread.start_new_thread = guarded
        setattr(threading, "_start_new_thread", guarded)  # noqa: B010 - a private name, on purpose

    def _reader(self, reader: Callable[..., Any], label: str) -> Callable[..., Any]:
        def guarded(source: Any, *args: Any, **kwargs: Any) -> Any:
            if isinstance(source, str | bytes | os.PathLike):
                path = os.fsdecode(os.fspath(source))
                if not self.allowed(path):
                    self.refuse("file", f"{path} through {label}", sys._getframe(1))
            return reader(source, *args, **kwargs)

        return guarded
