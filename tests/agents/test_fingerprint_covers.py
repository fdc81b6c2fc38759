"""The agent's code hash covers everything it is made of and reads: every module of its package
(a regular or a namespace package), the helper modules a single-file agent imports from its
folder, each declared file, each file under a declared folder, and each file of its package
(weights, parameters, tables). Changing any of them changes the hash, so lookahead, warm-up and
optimizer evidence earned on the old code and data no longer counts (GO/NO-GO and
``optimize --save`` compare the hash); a file the agent neither imports nor declares does not."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from rampart.agents.fingerprint import code_hash

AGENT = """
from pathlib import Path
{imports}


class Mine:
    name = "mine"
    warmup = 0
    files = {files!r}

    def update(self, candle):
        pass

    def decide(self, view):
        return []
"""


@pytest.fixture
def clean_modules(tmp_path: Path) -> Iterator[None]:
    before = set(sys.modules)
    sys.path.insert(0, str(tmp_path))
    yield
    sys.path.remove(str(tmp_path))
    for name in set(sys.modules) - before:
        del sys.modules[name]


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def _class(module: str) -> type:
    importlib.invalidate_caches()
    cls: type = importlib.import_module(module).Mine
    return cls


def _changes(cls: type, path: Path) -> bool:
    before = code_hash(cls)
    path.write_bytes(path.read_bytes() + b"\n# changed\n")
    return code_hash(cls) != before


@pytest.mark.usefixtures("clean_modules")
@pytest.mark.parametrize("init", [True, False], ids=["package", "namespace_package"])
def test_every_module_and_file_of_its_package_is_in_the_hash(tmp_path: Path, init: bool) -> None:
    if init:
        _write(tmp_path / "strat" / "__init__.py", "")
    _write(tmp_path / "strat" / "agent.py", AGENT.format(imports="", files=()))
    _write(tmp_path / "strat" / "features" / "ema.py", "SPAN = 12\n")
    _write(tmp_path / "strat" / "model" / "weights.bin", "0123")
    cls = _class("strat.agent")
    assert _changes(cls, tmp_path / "strat" / "features" / "ema.py")
    assert _changes(cls, tmp_path / "strat" / "agent.py")
    if init:  # a regular package's every file is the agent's own (the sandbox lets it read them)
        assert _changes(cls, tmp_path / "strat" / "model" / "weights.bin")


@pytest.mark.usefixtures("clean_modules")
def test_a_single_file_agents_helpers_and_declared_files_are_in_the_hash(tmp_path: Path) -> None:
    imports = "import helper\nfrom tools.scale import factor"
    files = ("params.json", "weights")
    _write(tmp_path / "mine.py", AGENT.format(imports=imports, files=files))
    _write(tmp_path / "helper.py", "import deep\n")
    _write(tmp_path / "deep.py", "LEVEL = 1\n")
    _write(tmp_path / "tools" / "__init__.py", "")
    _write(tmp_path / "tools" / "scale.py", "factor = 2\n")
    _write(tmp_path / "unrelated.py", "X = 1\n")
    _write(tmp_path / "params.json", "{}")
    _write(tmp_path / "weights" / "layer1.npy", "w1")
    _write(tmp_path / "weights" / "deeper" / "layer2.npy", "w2")
    cls = _class("mine")
    for changed in (
        "mine.py",
        "helper.py",
        "deep.py",  # imported by its helper
        "tools/scale.py",
        "params.json",
        "weights/layer1.npy",  # a declared folder's every file
        "weights/deeper/layer2.npy",
    ):
        assert _changes(cls, tmp_path / changed), changed
    assert not _changes(cls, tmp_path / "unrelated.py")  # neither imported nor declared
    # A new weight in a declared folder is a change too.
    before = code_hash(cls)
    _write(tmp_path / "weights" / "layer3.npy", "w3")
    assert code_hash(cls) != before
