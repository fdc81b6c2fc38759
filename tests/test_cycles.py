"""scripts/cycles.py on tiny package trees: a cycle between packages fails, layers pass."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "cycles.py"


@pytest.fixture(scope="module")
def cycles() -> ModuleType:
    spec = importlib.util.spec_from_file_location("cycles_script", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def tree(root: Path, files: dict[str, str]) -> Path:
    """A package ``app`` under ``root`` with the given modules (path → source)."""
    pkg = root / "app"
    for rel, source in {"__init__.py": "", **files}.items():
        path = pkg / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if not (path.parent / "__init__.py").exists() and path.parent != pkg:
            (path.parent / "__init__.py").write_text("")
        path.write_text(source)
    return pkg


LAYERED = {
    "front/__init__.py": "",
    "front/views.py": "from app.store import rows\nfrom app.venue.book import Book\n",
    "store/__init__.py": "",
    "store/rows.py": "from app.base import ID\n",
    "venue/__init__.py": "",
    "venue/book.py": "from ..base import ID\nfrom . import util\n",
    "venue/util.py": "import app.base\n",
    "base.py": "ID = 1\n",
}


def test_a_layered_tree_has_no_cycle_and_exits_0(
    cycles: ModuleType, tmp_path: Path, capsys
) -> None:
    pkg = tree(tmp_path, LAYERED)
    assert cycles.main(["--root", str(pkg)]) == 0
    out = capsys.readouterr().out
    assert out.strip() == "0 import cycles between packages"
    graph = cycles.build(pkg)
    assert graph.edges["app.front"] == {"app.store", "app.venue"}
    assert graph.edges["app.venue"] == {"app.base"}


def test_a_cycle_between_packages_is_printed_with_its_imports_and_exits_1(
    cycles: ModuleType, tmp_path: Path, capsys
) -> None:
    # store imports the venue's journal, the venue imports the store: a cycle, now broken.
    files = {
        **LAYERED,
        "store/swaps.py": "from app.venue.book import Book\n",
        "venue/book.py": "from ..base import ID\n\ndef f():\n    from app.store import rows\n",
    }
    pkg = tree(tmp_path, files)
    assert cycles.main(["--root", str(pkg)]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "store → venue → store"
    assert "    store → venue: app.store.swaps imports app.venue.book" in out
    assert "    venue → store: app.venue.book imports app.store.rows" in out
    assert out[-1] == "1 import cycle between packages"


def test_every_elementary_cycle_is_listed_once(cycles: ModuleType) -> None:
    edges = {"a": {"b"}, "b": {"a", "c"}, "c": {"a"}, "d": {"a"}}
    assert cycles.cycles(edges) == [["a", "b"], ["a", "b", "c"]]


def test_depth_2_sees_a_cycle_between_sub_packages_of_one_package(
    cycles: ModuleType, tmp_path: Path
) -> None:
    pkg = tree(
        tmp_path,
        {
            "trading/__init__.py": "",
            "trading/reconcile/__init__.py": "from app.trading.engine import run\n",
            "trading/engine.py": "from app.trading.reconcile import books\n",
            "trading/reconcile/books.py": "",
        },
    )
    assert cycles.main(["--root", str(pkg)]) == 0
    assert cycles.main(["--root", str(pkg), "--depth", "2"]) == 1


def test_a_directory_that_is_no_package_is_refused_in_a_sentence(
    cycles: ModuleType, tmp_path: Path, capsys
) -> None:
    assert cycles.main(["--root", str(tmp_path)]) == 2
    assert (
        capsys.readouterr()
        .out.strip()
        .endswith("is not a package directory (it has no __init__.py).")
    )
