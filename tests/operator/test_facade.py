"""A facade of methods: the operator facade hands out no ``engine``,
``session`` or ``store``; nothing outside ``rampart.operator`` reads them of an operator; and the
global kill switch's flag is written only by :class:`rampart.trading.controls.Controls`.

Read from the sources, so each broken rule names its line."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src"
INTERNALS = ("engine", "session", "store")
"""What the facade keeps to itself, public or private (``_engine``…): the trading core, the
session behind it and the store's handle."""
FACADE_CLASSES = frozenset(
    {
        "Operator",
        "ScaledOperator",
        "ControlActions",
        "OpsActions",
        "PeopleActions",
        "InvestorViews",
        "InvestorBook",
        "TokenRecords",
        "PanelSessionRecords",
    }
)
"""The facade and the objects it hands the fronts (``views``, ``investors``, ``tokens``,
``panel_sessions``)."""


def _modules(*packages: str) -> Iterator[tuple[Path, ast.Module]]:
    for package in packages:
        for path in sorted((SRC / Path(*package.split("."))).rglob("*.py")):
            yield path, ast.parse(path.read_text(), str(path))


def _is_operator(node: ast.expr) -> bool:
    """``operator``, ``self.operator``, ``ctx.operator``, ``bot.operator``…: an operator facade
    by the name every caller gives it."""
    name = node.id if isinstance(node, ast.Name) else getattr(node, "attr", "")
    return name in {"operator", "facade"}


def _internal(name: str) -> bool:
    return name.lstrip("_") in INTERNALS


def _reads_internal(node: ast.AST) -> bool:
    """``operator.session`` or ``getattr(operator, "store", …)``."""
    if isinstance(node, ast.Attribute):
        return _internal(node.attr) and _is_operator(node.value)
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id in {"getattr", "setattr", "hasattr"}
        and len(node.args) >= 2
        and _is_operator(node.args[0])
        and isinstance(node.args[1], ast.Constant)
        and _internal(str(node.args[1].value))
    )


def _reaches_in(tree: ast.Module) -> Iterator[ast.AST]:
    return (node for node in ast.walk(tree) if _reads_internal(node))


def _where(path: Path, node: ast.AST) -> str:
    return f"{path.relative_to(ROOT)}:{getattr(node, 'lineno', 0)} {ast.unparse(node)}"


def test_nothing_outside_the_facade_reads_its_engine_session_or_store() -> None:
    """The fronts (API, panel, bot), the command line, the rollout and the wiring call the
    facade's methods; none reads what is behind it."""
    outside = [
        p.name
        for p in (SRC / "rampart").iterdir()
        if p.is_dir() and p.name not in {"operator", "__pycache__"}
    ]
    bad = [
        _where(path, node)
        for path, tree in _modules(*(f"rampart.{p}" for p in sorted(outside)))
        for node in _reaches_in(tree)
    ]
    assert bad == []


def _public_internals(cls: ast.ClassDef) -> Iterator[ast.AST]:
    for node in ast.walk(cls):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name in INTERNALS:
            yield node
        elif isinstance(node, ast.AnnAssign | ast.Assign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                if isinstance(target, ast.Name) and target.id in INTERNALS and node in cls.body:
                    yield node  # a class-level declaration (a mixin's ``session: Session``)
                elif (
                    isinstance(target, ast.Attribute)
                    and target.attr in INTERNALS
                    and isinstance(target.value, ast.Name)
                    and target.value.id == "self"
                ):
                    yield node


def test_the_facade_and_what_it_hands_out_have_no_public_engine_session_or_store() -> None:
    found: set[str] = set()
    bad = []
    for path, tree in _modules("rampart.operator"):
        for cls in ast.walk(tree):
            if isinstance(cls, ast.ClassDef) and cls.name in FACADE_CLASSES:
                found.add(cls.name)
                bad += [_where(path, node) for node in _public_internals(cls)]
    assert found == FACADE_CLASSES  # a class renamed must be renamed here, not dropped
    assert bad == []


def _kill_writes(tree: ast.Module) -> Iterator[tuple[ast.AST, str | None]]:
    """Each write of ``global_kill`` with the class it is written in (None: a function)."""

    def visit(node: ast.AST, cls: str | None) -> Iterator[tuple[ast.AST, str | None]]:
        for child in ast.iter_child_nodes(node):
            inner = child.name if isinstance(child, ast.ClassDef) else cls
            targets: list[ast.expr] = []
            if isinstance(child, ast.Assign):
                targets = child.targets
            elif isinstance(child, ast.AugAssign | ast.AnnAssign):
                targets = [child.target]
            for target in targets:
                for part in ast.walk(target):
                    if isinstance(part, ast.Attribute) and part.attr == "global_kill":
                        yield child, cls
            if (
                isinstance(child, ast.Call)
                and isinstance(child.func, ast.Name)
                and child.func.id == "setattr"
                and len(child.args) >= 2
                and isinstance(child.args[1], ast.Constant)
                and child.args[1].value == "global_kill"
            ):
                yield child, cls
            yield from visit(child, inner)

    yield from visit(tree, None)


def test_only_controls_writes_the_global_kill_switch() -> None:
    """Engaging, releasing, raising the flag ahead of the lock and showing the stored switch
    are each a method of ``Controls``: the flag never changes without its reason, holder and
    since-time changing with it."""
    owner = SRC / "rampart" / "trading" / "controls.py"
    bad = []
    for path, tree in _modules("rampart", "rampart_testkit"):
        for node, cls in _kill_writes(tree):
            if not (path == owner and cls == "Controls"):
                bad.append(_where(path, node))
    assert bad == []


def test_only_the_rollout_desk_brings_a_maker_to_the_facade() -> None:
    """``Operator.serve_rollout(make)`` hands ``make`` the session behind the facade (the rollout
    sits above it): only ``rampart.rollout.desk.serve_desk`` may call it, never a front, which
    asks ``operator.rollout_desk()``."""
    allowed = SRC / "rampart" / "rollout" / "desk.py"
    bad = [
        _where(path, node)
        for path, tree in _modules("rampart")
        if path != allowed and not path.is_relative_to(SRC / "rampart" / "operator")
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute) and node.attr == "serve_rollout"
    ]
    assert bad == []
