"""The compiled core: which build of ``rampart`` a command runs.

``make setup`` compiles the per-order path with mypyc from the same ``.py`` source
(``scripts/build_compiled.py``) into ``var/compiled``: a copy of ``src/rampart`` with extension
modules beside the modules left as Python. The ``rampart`` script runs that copy when it exists,
was built by this interpreter and matches the source file for file (:func:`stale`); otherwise it
runs the source itself, and says so in one line when a build exists but is stale, so that an
edited ``.py`` is never run from an old build. ``RAMPART_PURE=1`` runs the source whatever is
built (the test suite sets it: its tests patch the Python modules).

The stamp (``source.json`` in the build) lists every file of the copied tree with its size,
modification time and SHA-256. A command only stats the files; a file whose size or time moved
is read and hashed, so a checkout or ``touch`` that leaves its content alone does not count as
a change. Only the standard library is imported here: this runs before anything else loads.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import os
import sys
from pathlib import Path
from typing import Any

STAMP = "source.json"
IGNORED_DIRS = frozenset({"__pycache__"})
IGNORED_SUFFIXES = (".pyc", ".so")
"""What the build does not copy from the source tree, nor stamp."""


def _files(src: Path) -> dict[str, Path]:
    """Every file of the tree under ``src`` the build copies, by its path relative to ``src``."""
    found: dict[str, Path] = {}
    for folder, dirs, names in os.walk(src):
        dirs[:] = [d for d in dirs if d not in IGNORED_DIRS]
        for name in names:
            if not name.endswith(IGNORED_SUFFIXES):
                path = Path(folder, name)
                found[path.relative_to(src).as_posix()] = path
    return found


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def source_stamp(src: Path) -> dict[str, Any]:
    """The stamp of the tree under ``src``: the interpreter and each file's size, time, hash."""
    files: dict[str, list[object]] = {}
    for rel, path in sorted(_files(src).items()):
        st = path.stat()
        files[rel] = [st.st_size, st.st_mtime_ns, _sha(path)]
    return {"python": sys.version, "files": files}


def stale(build: Path, src: Path) -> str | None:
    """Why the build in ``build`` cannot stand for the source under ``src`` (None: it can)."""
    try:
        stamp = json.loads((build / STAMP).read_text())
        python, recorded = stamp["python"], stamp["files"]
    except (OSError, ValueError, KeyError, TypeError):
        return f"no build stamp in {build}"
    if python != sys.version:
        return "built by another Python"
    files = _files(src)
    if files.keys() != recorded.keys():
        return "files added to or removed from the source since it was built"
    for rel, path in files.items():
        size, mtime_ns, sha = recorded[rel]
        st = path.stat()
        if st.st_size != size or (st.st_mtime_ns != mtime_ns and _sha(path) != sha):
            return f"{rel} changed since it was built"
    return None


def default_build(package: Path) -> Path:
    """``var/compiled`` of the checkout the package ``package`` (``src/rampart``) is in."""
    return package.parent.parent / "var" / "compiled"


def prefer_compiled(build: Path | None = None) -> bool:
    """Makes the rest of the command import ``rampart`` from the compiled build, when it is
    built and fresh and ``RAMPART_PURE`` is not set; True when it did. Called first thing in
    the script, while only ``rampart``, ``rampart.cli`` and this module are loaded."""
    if os.environ.get("RAMPART_PURE", "").strip() not in ("", "0"):
        return False
    import rampart

    package = Path(rampart.__file__).resolve().parent
    build = (build or default_build(package)).resolve()
    if package.parent == build or not build.is_dir():
        return False  # already the build (PYTHONPATH), or none was made: nothing to say
    why = stale(build, package)
    if why is not None:
        print(
            f"compiled core not used ({why}); running the pure source (make setup builds it)",
            file=sys.stderr,
        )
        return False
    sys.path.insert(0, str(build))
    for name in [n for n in sys.modules if n == "rampart" or n.startswith("rampart.")]:
        del sys.modules[name]
    importlib.invalidate_caches()
    return True
