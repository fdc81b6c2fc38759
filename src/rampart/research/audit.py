"""What an agent reads besides the engine's view, seen while the lookahead check runs it.

Cutting the candles handed to an agent catches an agent that peeks at them; it cannot catch one
that reads the future from somewhere else — the data file itself, a web service, the wall clock
(a backtest's "now" is the bar's close; a live agent reading the clock behaves differently in a
replay). So while the check runs the agent, every file opened, every socket, database and
process, and every wall-clock read made *from the agent's code* is recorded with the file and
line that made it:

- files, sockets, databases and processes through a Python audit hook (``sys.addaudithook``,
  PEP 578). A hook cannot be removed, so one is installed per process on first use and does
  nothing unless a ``ContextVar`` says a watch is on (the rest of the process, other threads
  and other tasks, pay one lookup per audited event);
- the clock through ``sys.setprofile``: ``time.time`` and ``datetime.now`` raise no audit
  event, but a profile function sees every C function called, and these are C functions.

"From the agent's code" means a frame of a file that defines the agent's class or one of its
bases is on the stack when the access happens (a pandas ``read_feather`` called from the agent
counts, at the agent's line). Services the engine itself hands an agent (the ml agent's model
registry, the llm agent's decider) are named as trusted modules: an access under one of their
frames is the engine's, not the agent's. Imports are not reads of market data and are skipped.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import os
import sys
import time as _time
from collections.abc import Callable, Iterable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

_FILE_EVENTS = {"open"}
_NET_EVENTS = {
    "socket.connect",
    "socket.getaddrinfo",
    "socket.sendto",
    "socket.sendmsg",
    "urllib.Request",
    "http.client.connect",
}
_OTHER_EVENTS = {
    "sqlite3.connect": "database",
    "subprocess.Popen": "process",
    "os.system": "process",
}
_MODULE_SUFFIXES = (".py", ".pyc", ".pyi", ".so", ".pyd", ".pth")
MACHINE = ("/sys/", "/proc/self/")
"""The kernel's description of the machine and of the process itself (its CPUs and their quota,
which pandas' CSV reader reads to size its workers; its memory map, which threadpoolctl reads
under a model's ``fit``): never market data."""
CLOCK_DEPTH = 2
"""Frames between a clock read and the agent's code for the read to be the agent's."""
_CLOCK_NAMES = {"now", "utcnow", "today"}
_CLOCK_FUNCTIONS: frozenset[Any] = frozenset(
    {
        _time.time,
        _time.time_ns,
        _time.localtime,
        _time.gmtime,
        _time.ctime,
        _time.asctime,
        _time.strftime,
    }
)
"""The wall-clock reads among ``time``'s functions. ``monotonic`` and ``perf_counter`` are left
out: they measure durations, not the date, and tell an agent nothing about the market."""
_NATIVE_READERS = frozenset(
    {
        "read_table",
        "read_feather",
        "read_csv",
        "read_json",
        "read_orc",
        "read_pandas",
        "dataset",
        "memory_map",
        "open_input_file",
        "open_input_stream",
    }
)
"""pyarrow's readers given a path open it in C++, past Python's ``open`` and its audit event:
their Python entry points are watched by name instead (numpy's ``fromfile`` likewise, below)."""


@dataclass(frozen=True, slots=True)
class Access:
    kind: str
    """file, network, database, process, clock, memory map, native code or thread."""
    target: str
    file: str
    line: int
    count: int = 1

    def describe(self) -> str:
        times = f" ({self.count} times)" if self.count > 1 else ""
        what = {
            "file": f"opened {self.target}",
            "network": f"used the network ({self.target})",
            "database": f"opened a database ({self.target})",
            "process": f"started a process ({self.target})",
            "clock": f"read the wall clock ({self.target})",
            "memory map": f"mapped {self.target} into memory",
            "native code": f"loaded native code ({self.target})",
            "thread": f"started a thread ({self.target})",
        }.get(self.kind, f"{self.kind}: {self.target}")
        return f"{self.file}:{self.line} {what}{times}"


class Watch:
    """The accesses seen while it is on; ``code`` holds the agent's source files."""

    def __init__(
        self,
        code: Iterable[str],
        trusted: Iterable[str] = (),
        owns: Callable[[str], bool] | None = None,
    ) -> None:
        self.code = frozenset(code)
        self.trusted = tuple(trusted)
        self.owns = owns
        """Whether a path is the agent's own to read (its declared files, its package)."""
        self._seen: dict[tuple[str, str, str, int], int] = {}
        self._copies: list[str] = []

    def adopt(self, folder: str) -> None:
        """Counts a copy of the agent (its code and files, with one declared file cut) as the
        agent: its frames are the agent's code, its files the agent's own."""
        copies = {str(p) for p in Path(folder).rglob("*.py")}
        self.code = self.code | copies | {os.path.realpath(p) for p in copies}
        if not self._copies:
            owned = self.owns

            def owns(path: str) -> bool:
                real = os.path.realpath(path)
                inside = any(real.startswith(root) for root in self._copies)
                return inside or (owned is not None and owned(path))

            self.owns = owns
        self._copies.append(os.path.realpath(folder) + os.sep)

    def accesses(self) -> tuple[Access, ...]:
        return tuple(
            Access(kind, target, file, line, count)
            for (kind, target, file, line), count in self._seen.items()
        )

    def culprit(self, frame: FrameType | None) -> FrameType | None:
        """The innermost frame of the agent's code on the stack, unless an import or a
        trusted service of the engine stands between it and the access."""
        while frame is not None:
            code = frame.f_code
            if code.co_filename in self.code:
                return frame
            module = frame.f_globals.get("__name__", "")
            if module.startswith("importlib") or code.co_filename.startswith("<frozen"):
                return None
            if self.trusted and module.startswith(self.trusted):
                return None
            frame = frame.f_back
        return None

    def note(self, kind: str, target: str, frame: FrameType | None) -> None:
        culprit = self.culprit(frame)
        if culprit is None:
            return
        key = (kind, target, culprit.f_code.co_filename, culprit.f_lineno)
        self._seen[key] = self._seen.get(key, 0) + 1


_WATCH: ContextVar[Watch | None] = ContextVar("rampart_agent_watch", default=None)
_installed = False


def _target(
    event: str, args: tuple[Any, ...], owns: Callable[[str], bool] | None = None
) -> tuple[str, str] | None:
    if event in _FILE_EVENTS:
        raw = args[0] if args else None
        if isinstance(raw, int) or raw is None:
            return None  # a descriptor already open: its opening was the access
        path = os.fsdecode(os.fspath(raw))
        if path.endswith(_MODULE_SUFFIXES) or (owns is not None and owns(path)):
            return None
        mode = args[1] if len(args) > 1 and isinstance(args[1], str) else "r"
        how = "for writing" if any(c in mode for c in "wax+") else "for reading"
        if how == "for reading" and path.startswith(MACHINE):
            return None
        return "file", f"{path} {how}"
    if event in _NET_EVENTS:
        detail = next((a for a in args[1:2] if a is not None), args[0] if args else "")
        return "network", f"{event} {detail!s}"[:160]
    kind = _OTHER_EVENTS.get(event)
    if kind is not None:
        return kind, f"{event} {args[0]!s}"[:160] if args else event
    return None


def _hook(event: str, args: tuple[Any, ...]) -> None:
    watch = _WATCH.get()
    if watch is None:
        return
    try:
        found = _target(event, args, watch.owns)
        if found is not None:
            # The frame calling the hook's caller: sys._getframe raises an audit event of its
            # own, which ``_target`` ignores (it is in no event set), so there is no recursion.
            watch.note(found[0], found[1], sys._getframe(1))
    except Exception:  # a hook that raises would fail the agent's own call: note it instead
        watch.note("file", f"an access the check could not read ({event})", sys._getframe(1))


def _install() -> None:
    global _installed
    if not _installed:
        sys.addaudithook(_hook)
        _installed = True


def _clock_name(fn: Any) -> str | None:
    if fn in _CLOCK_FUNCTIONS:
        return f"time.{fn.__name__}"
    owner = getattr(fn, "__self__", None)
    if (
        getattr(fn, "__name__", None) in _CLOCK_NAMES
        and isinstance(owner, type)
        and issubclass(owner, _dt.date)
    ):
        return f"{owner.__name__}.{fn.__name__}"
    return None


def _near(watch: Watch, frame: FrameType | None) -> bool:
    """Whether the agent's code reads the clock itself or through a helper it calls directly:
    a library timing its own work further down (joblib's parallel loop under a model's
    ``fit``) is not the agent asking the date."""
    for _ in range(CLOCK_DEPTH):
        if frame is None:
            return False
        if frame.f_code.co_filename in watch.code:
            return True
        frame = frame.f_back
    return False


def _in(fn: Any, package: str) -> bool:
    module = getattr(fn, "__module__", None) or type(getattr(fn, "__self__", None)).__module__
    return isinstance(module, str) and module.startswith(package)


def _profiler(watch: Watch) -> Callable[[FrameType, str, Any], None]:
    def profile(frame: FrameType, event: str, arg: Any) -> None:
        # An error here would surface in the agent's own call: the profile stays silent.
        with contextlib.suppress(Exception):
            _look(frame, event, arg)

    def _look(frame: FrameType, event: str, arg: Any) -> None:
        if event == "c_call":
            name = _clock_name(arg)
            if name is not None and _near(watch, frame):
                watch.note("clock", name, frame)
            elif (
                watch.owns is None  # the sandbox guards numpy.fromfile, where it sees the path
                and getattr(arg, "__name__", None) == "fromfile"
                and _in(arg, "numpy")
            ):
                watch.note("file", "a path through numpy.fromfile", frame)
        elif event == "call":
            code = frame.f_code
            caller = frame.f_back
            if (
                code.co_name in _NATIVE_READERS
                and frame.f_globals.get("__name__", "").startswith("pyarrow")
                and caller is not None
                and not caller.f_globals.get("__name__", "").startswith("pyarrow")
            ):
                first = frame.f_locals.get(code.co_varnames[0]) if code.co_argcount else None
                path = first if isinstance(first, str | os.PathLike) else "a source"
                if watch.owns is not None and path != "a source" and watch.owns(os.fspath(path)):
                    return  # the agent's own file (declared, or a cut copy of one)
                watch.note("file", f"{path!s} through pyarrow", caller)

    return profile


@contextlib.contextmanager
def watching(watch: Watch, *, clock: bool = True) -> Iterator[Watch]:
    """Record ``watch``'s accesses inside the block (the clock too when ``clock``: a profile
    function slows Python calls a few times, so the check watches the clock on its one full
    run over the file and not on the re-computations)."""
    _install()
    token = _WATCH.set(watch)
    previous = sys.getprofile() if clock else None
    if clock:
        sys.setprofile(_profiler(watch))
    try:
        yield watch
    finally:
        if clock:
            sys.setprofile(previous)
        _WATCH.reset(token)


def agent_code(agent: object) -> set[str]:
    """The source files of the agent's class and its bases (the code that is the agent's):
    where their functions were compiled, so a class loaded from a file that is in no
    ``sys.modules`` entry is found too, and its module's file."""
    files: set[str] = set()
    for cls in type(agent).__mro__:
        if cls.__module__ in ("builtins", "abc", "typing"):
            continue
        for member in vars(cls).values():
            # Static and class methods wrap a function, properties hold one.
            func = getattr(member, "__func__", None) or getattr(member, "fget", None) or member
            code = getattr(func, "__code__", None)
            if code is not None:
                files.add(code.co_filename)
        path = getattr(sys.modules.get(cls.__module__), "__file__", None)
        if path:
            files.add(path)
    return files
