"""Prints every import cycle between the packages of rampart, and exits 1 when there is one.

Why: the layers contract in .importlinter checks that imports point down the layers, but
siblings of one layer marked ``a : b`` may import each other, and a cycle among them is
invisible to it (once it hid market → venues → runtime → store → venues that way).
This script looks at the whole graph instead: it collapses the modules under src/rampart into
their top-level packages (``--depth 2``: into their sub-packages as well, e.g.
``rampart.trading.reconcile``), draws an edge A → B when any module of A imports any module
of B, and lists every elementary cycle of that graph, each edge with one import that makes it.

    .venv/bin/python scripts/cycles.py               # top-level packages (what `make lint` runs)
    .venv/bin/python scripts/cycles.py --depth 2     # sub-packages too
    .venv/bin/python scripts/cycles.py --root DIR    # another package directory (the tests)

Imports are read from the source (ast), not by importing it: every ``import`` and
``from ... import`` counts, including those under ``if TYPE_CHECKING:`` and inside functions,
as import-linter counts them (a deferred import still couples the packages).
"""

from __future__ import annotations

import argparse
import ast
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent / "src" / "rampart"


@dataclass(frozen=True)
class Graph:
    edges: dict[str, set[str]]
    """Package → the packages it imports."""
    witness: dict[tuple[str, str], tuple[str, str]]
    """(A, B) → one (importing module, imported module) that makes the edge."""


def module_names(root: Path) -> dict[str, Path]:
    """Every module of the package at ``root``, by dotted name (a package by its own name)."""
    top = root.name
    names: dict[str, Path] = {}
    for path in sorted(root.rglob("*.py")):
        parts = list(path.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        names[".".join([top, *parts])] = path
    return names


def imported(tree: ast.AST, module: str, is_package: bool, known: set[str]) -> Iterator[str]:
    """The modules of the package that ``module`` imports (the longest known name of each)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield from _known(alias.name, known)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                # Relative: level 1 is the module's own package (the module itself for a package).
                anchor = module.split(".")
                drop = node.level - 1 if is_package else node.level
                anchor = anchor[: len(anchor) - drop] if drop else anchor
                base = ".".join(anchor + ([base] if base else []))
            for alias in node.names:
                # ``from pkg import sub`` imports the module pkg.sub when there is one.
                full = f"{base}.{alias.name}"
                yield from _known(full if full in known else base, known)


def _known(name: str, known: set[str]) -> Iterator[str]:
    parts = name.split(".")
    for end in range(len(parts), 0, -1):
        candidate = ".".join(parts[:end])
        if candidate in known:
            yield candidate
            return


def node_of(module: str, depth: int, packages: set[str]) -> str:
    """The graph node a module belongs to: its package ``depth`` levels below the root.

    A plain module at that level (``rampart.clock``) is a node of its own; deeper, only
    packages split (``rampart.trading.engine`` stays in ``rampart.trading`` at depth 2).
    """
    parts = module.split(".")
    node = parts[0]
    for level in range(1, min(depth, len(parts) - 1) + 1):
        candidate = ".".join(parts[: level + 1])
        if level > 1 and candidate not in packages:
            break
        node = candidate
    return node


def build(root: Path, depth: int = 1) -> Graph:
    names = module_names(root)
    packages = {name for name, path in names.items() if path.name == "__init__.py"}
    known = set(names)
    edges: dict[str, set[str]] = {}
    witness: dict[tuple[str, str], tuple[str, str]] = {}
    for module, path in names.items():
        source = node_of(module, depth, packages)
        edges.setdefault(source, set())
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for target_module in imported(tree, module, module in packages, known):
            target = node_of(target_module, depth, packages)
            # The root package's own __init__ is no node to cycle on. At depth 2 the modules
            # directly in a package are its node, so a sub-package that imports them and is
            # imported by them is a cycle like any other.
            if target == source or root.name in (target, source):
                continue
            edges[source].add(target)
            witness.setdefault((source, target), (module, target_module))
    return Graph(edges, witness)


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Every elementary cycle, each once: listed from its smallest node (sorted order)."""
    found: list[list[str]] = []
    order = sorted(edges)
    for i, start in enumerate(order):
        allowed = set(order[i:])
        # Depth-first search for paths back to ``start`` through nodes not before it.
        stack: list[tuple[str, Iterator[str]]] = [(start, iter(sorted(edges[start] & allowed)))]
        path = [start]
        on_path = {start}
        while stack:
            node, children = stack[-1]
            child = next(children, None)
            if child is None:
                stack.pop()
                on_path.discard(path.pop())
            elif child == start:
                found.append(list(path))
            elif child not in on_path:
                path.append(child)
                on_path.add(child)
                stack.append((child, iter(sorted(edges.get(child, set()) & allowed))))
    return found


def short(name: str) -> str:
    return name.split(".", 1)[1] if "." in name else name


def report(graph: Graph, found: list[list[str]]) -> str:
    lines = []
    for cycle in found:
        ring = [*cycle, cycle[0]]
        lines.append(" → ".join(short(n) for n in ring))
        for a, b in pairwise(ring):
            src, dst = graph.witness[(a, b)]
            lines.append(f"    {short(a)} → {short(b)}: {src} imports {dst}")
    word = "cycle" if len(found) == 1 else "cycles"
    lines.append(f"{len(found)} import {word} between packages")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=ROOT, help="the package directory")
    parser.add_argument(
        "--depth", type=int, default=1, help="1: top-level packages; 2: sub-packages too"
    )
    args = parser.parse_args(argv)
    if not (args.root / "__init__.py").is_file():
        print(f"{args.root} is not a package directory (it has no __init__.py).")
        return 2
    if args.depth < 1:
        print("--depth must be 1 or more.")
        return 2
    graph = build(args.root, args.depth)
    found = cycles(graph.edges)
    print(report(graph, found))
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
