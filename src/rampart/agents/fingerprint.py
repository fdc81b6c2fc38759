"""What an agent is made of on disk: the files that are its code, the files it declares it reads,
and one hash over them all.

- **Its code**: the source file of its class and of every base outside Rampart and the standard
  library; for an agent in a package, every Python file of that package (its top-level one, a
  namespace package's folders too); every module of its own folder it imports (a helper beside
  a single-file agent); for one of Rampart's own agents, every file of
  ``rampart/agents``.
- **Its own files** (read by the agent, not market data): those it declares in ``files`` (a
  tuple of paths, relative to the file that defines its class; a folder declares every file
  under it) and, for an agent in a package, everything under that package. The lookahead
  sandbox lets it read these and nothing else.
- **Its code hash**: SHA-256 over the names and bytes of all of them — every module, every
  declared file, every file of its package (model weights, parameters, tables) — so research
  evidence names the exact code and data it was earned by: change a line, a helper module or
  a weight and the checks must run again (``rampart optimize --save``, GO/NO-GO's evidence).
"""

from __future__ import annotations

import ast
import hashlib
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from rampart.domain.errors import ConfigError

_OWN = Path(__file__).resolve().parent
"""``rampart/agents``: the code of Rampart's own agents."""
_SKIP = {"builtins", "abc", "typing", "object"}


@dataclass(frozen=True, slots=True)
class AgentFiles:
    code: tuple[Path, ...]
    """The source files that are the agent."""
    declared: tuple[Path, ...]
    """The files it says it reads (``files``)."""
    package: Path | None
    """Its top-level package's folder, when it lives in one (not Rampart's)."""

    def readable(self) -> tuple[Path, ...]:
        """What it may read besides the candles: its code, its declared files, its package."""
        return (*self.code, *self.declared, *((self.package,) if self.package else ()))

    def owns(self, path: str) -> bool:
        """Whether reading ``path`` is reading the agent's own files."""
        try:
            target = Path(path).resolve()
        except (OSError, ValueError):
            return False
        if target in self.declared or target in self.code:
            return True
        return self.package is not None and target.is_relative_to(self.package)


def module_file(cls: type) -> Path | None:
    """The file that defines ``cls``: its module's, or where its methods were compiled (a class
    loaded from a file in no ``sys.modules`` entry)."""
    found = getattr(sys.modules.get(cls.__module__), "__file__", None)
    if found:
        return Path(found).resolve()
    for member in vars(cls).values():
        code = getattr(getattr(member, "__func__", member), "__code__", None)
        if code is not None and not code.co_filename.startswith("<"):
            return Path(code.co_filename).resolve()
    return None


def _package_of(path: Path) -> Path | None:
    if not (path.parent / "__init__.py").is_file():
        return None
    top = path.parent
    while (top.parent / "__init__.py").is_file():
        top = top.parent
    return top


def _is_rampart(module: str) -> bool:
    return module == "rampart" or module.startswith("rampart.")


def agent_files(cls: type) -> AgentFiles:
    """The files of the agent class ``cls`` (see the module's docstring)."""
    code: set[Path] = set()
    package: Path | None = None
    home: Path | None = None
    for klass in cls.__mro__:
        module = klass.__module__
        if module in _SKIP or module.split(".")[0] in sys.stdlib_module_names:
            continue
        if _is_rampart(module):
            code.update(_OWN.glob("*.py"))
            continue
        path = module_file(klass)
        if path is None:
            continue
        home = home or path
        code.add(path)
        found = _package_of(path)
        if found is not None and found != _OWN.parent:
            package = package or found
    if package is not None:
        code.update(p.resolve() for p in package.rglob("*.py"))
    elif home is not None:
        code.update(_beside(home, cls.__module__))
    declared = _declared(cls, home)
    return AgentFiles(tuple(sorted(code)), declared, package)


def _beside(home: Path, module: str) -> set[Path]:
    """The agent's modules outside a regular package: the modules of its folder it imports (a
    helper beside a single-file agent, and what that imports from there, read from the source
    so the answer does not depend on what else is loaded) and, for a namespace package (a
    folder without ``__init__.py``), every Python file under its folders."""
    found: set[Path] = set()
    top = sys.modules.get(module.split(".")[0])
    if "." in module:  # a namespace package of the agent's own
        for folder in getattr(top, "__path__", None) or ():
            found.update(p.resolve() for p in Path(folder).rglob("*.py"))
    todo = [home]
    while todo:
        source = todo.pop()
        for name in _imported(source):
            for candidate in (home.parent / f"{name}.py", home.parent / name / "__init__.py"):
                if candidate.is_file() and candidate.resolve() not in found:
                    found.add(candidate.resolve())
                    if candidate.name == "__init__.py":
                        found.update(p.resolve() for p in candidate.parent.rglob("*.py"))
                    else:
                        todo.append(candidate)
    return found


def _imported(source: Path) -> set[str]:
    """The top-level names of the modules ``source`` imports (absolute imports only)."""
    try:
        tree = ast.parse(source.read_bytes())
    except (OSError, SyntaxError, ValueError):
        return set()
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module.split(".")[0])
    return names


def _declared(cls: type, home: Path | None) -> tuple[Path, ...]:
    raw = getattr(cls, "files", ())
    if isinstance(raw, str | Path):
        raw = (raw,)
    if not isinstance(raw, Iterable):
        raise ConfigError(
            f"Agent {cls.__name__} declares files as {type(raw).__name__}, not paths."
        )
    base = home.parent if home is not None else Path.cwd()
    out = []
    for item in raw:
        if not isinstance(item, str | Path):
            raise ConfigError(f"Agent {cls.__name__} declares a file {item!r} that is not a path.")
        out.append((base / Path(item).expanduser()).resolve())
    return tuple(sorted(set(out)))


def _data(files: AgentFiles) -> set[Path]:
    """Every file the agent may read besides its code: declared files, each file under a
    declared folder, and each file of its package (its weights, parameters and tables)."""
    out: set[Path] = set()
    folders = [p for p in files.declared if p.is_dir()]
    out.update(p for p in files.declared if p not in folders)
    if files.package is not None:
        folders.append(files.package)
    for folder in folders:
        out.update(
            p.resolve()
            for p in folder.rglob("*")
            if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"
        )
    return out


def code_hash(cls: type) -> str:
    """SHA-256 over the names and bytes of the agent's code, declared files (a declared folder's
    every file) and its package's every file."""
    files = agent_files(cls)
    digest = hashlib.sha256()
    for path in sorted({*files.code, *_data(files)}):
        digest.update(path.name.encode() + b"\0")
        try:
            digest.update(path.read_bytes())
        except OSError:
            digest.update(b"<missing>")
        digest.update(b"\0")
    return digest.hexdigest()
