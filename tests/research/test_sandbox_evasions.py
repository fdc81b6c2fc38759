"""``check-lookahead`` sees every read: the evasions that passed it before
each fail with a sentence naming the cause, and an agent reading its own declared files passes.

Each planted agent is the trend agent plus a peek at the next close, written as an operator's
file beside the test's data: through ``pyarrow.memory_map`` + ``ipc.open_file``, through libc's
``fopen`` via ctypes, in a thread it starts, or from a cache of next closes kept from an earlier
run and loaded when it is imported (once undeclared, once declared as its own file, and once
used only to stay out of the market). Without the sandbox every one passed with status 0.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from rampart.agents import plugins
from rampart.cli.main import app
from rampart.market.loaders import load_candles
from rampart.research import landlock
from tests.research.helpers import SHORT

runner = CliRunner()

PEEK = '''
from rampart.agents.trend import TrendAgent

DATA = {data!r}
NEXT = {{}}


class Peek(TrendAgent):
    """The trend agent, but it also buys whenever the next close is higher."""

    name = "peek"

    def _decide(self, view):
        if not NEXT:
            NEXT.update(load())
        upcoming = NEXT.get(view.candle.ts)
        if upcoming is not None and upcoming > view.candle.close:
            return self.open_long(view, view.candle.close * 0.02, 1.0, self.target_rr, 0.9, "up")
        return super()._decide(view)


def from_table(table):
    opens = table.column("date").cast("int64").to_pylist()
    closes = table.column("close").to_pylist()
    return {{t // 10**6: c for t, c in zip(opens[:-1], closes[1:])}}
'''

MEMORY_MAP = (
    PEEK
    + """
def load():
    import pyarrow as pa
    import pyarrow.ipc as ipc

    return from_table(ipc.open_file(pa.memory_map(DATA)).read_all())
"""
)

CTYPES = (
    PEEK
    + """
def load():
    import ctypes

    import pyarrow as pa
    import pyarrow.ipc as ipc

    libc = ctypes.CDLL(None)
    libc.fopen.restype = ctypes.c_void_p
    handle = libc.fopen(DATA.encode(), b"rb")
    buffer = ctypes.create_string_buffer(1 << 24)
    size = libc.fread(buffer, 1, len(buffer), ctypes.c_void_p(handle))
    return from_table(ipc.open_file(pa.py_buffer(buffer.raw[:size])).read_all())
"""
)

THREAD = (
    PEEK
    + """
def load():
    import threading

    import pyarrow.feather as feather

    found = {{}}
    reader = threading.Thread(target=lambda: found.update(from_table(feather.read_table(DATA))))
    reader.start()
    reader.join()
    return found
"""
)

CACHE = '''
import itertools
import json
from pathlib import Path

from rampart.agents.trend import TrendAgent

NEXT = {{float(k) if False else int(k): v for k, v in json.loads(
    (Path(__file__).parent / "next_closes.json").read_text()).items()}}


class Cached(TrendAgent):
    """The trend agent with next closes kept from an earlier run, loaded at import."""

    name = "cached"
    {files}

    def _decide(self, view):
        upcoming = NEXT.get(view.candle.ts)
        {rule}
        return super()._decide(view)
'''
BUY = (
    "if upcoming is not None and upcoming > view.candle.close:\n"
    "            return self.open_long(view, view.candle.close * 0.02, 1.0, self.target_rr, "
    '0.9, "up")'
)
STAY_OUT = (
    "if upcoming is not None and upcoming < view.candle.close and not self.holding(view):\n"
    "            return []  # the future says down: stay out"
)

OWN = '''
import itertools
import json
from pathlib import Path

import numpy as np

from rampart.agents.trend import TrendAgent


class Own(TrendAgent):
    """The trend agent with a threshold from its own parameters file and its own weights."""

    name = "own"
    files = ("own_params.json", "weights/own.npy")

    def __init__(self, **params):
        super().__init__(**params)
        here = Path(__file__).parent
        self.bias = json.loads((here / "own_params.json").read_text())["bias"]
        self.weights = np.load(here / "weights" / "own.npy")

    def _decide(self, view):
        if float(self.weights.sum()) * self.bias < 0:
            return []
        return super()._decide(view)
'''


@pytest.fixture(autouse=True)
def _own_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(plugins, "_resolved", {})
    monkeypatch.chdir(tmp_path)


def _check(spec: str, data: Path, *extra: str) -> tuple[int, str]:
    done = runner.invoke(
        app, ["check-lookahead", spec, "--data", str(data), "--signals", "5", *extra]
    )
    return done.exit_code, done.output


def _next_closes(data: Path, tmp_path: Path) -> None:
    candles = list(load_candles(data).series.iter_candles())
    nexts = {str(a.ts): b.close for a, b in itertools.pairwise(candles)}
    (tmp_path / "next_closes.json").write_text(json.dumps(nexts))


@pytest.mark.parametrize(
    ("source", "cause"),
    [
        (MEMORY_MAP, "through pyarrow.memory_map"),
        (CTYPES, "loaded native code (ctypes.dlopen"),
        (THREAD, "started a thread"),
    ],
    ids=["memory_map", "ctypes", "thread"],
)
def test_a_read_of_the_data_file_fails_the_check_naming_it(
    shared_data: Path, tmp_path: Path, source: str, cause: str
) -> None:
    data = shared_data / SHORT
    (tmp_path / "peek.py").write_text(source.format(data=str(data)), encoding="utf-8")
    code, output = _check("peek.py:Peek", data)
    assert code == 1, output
    assert cause in output, output
    assert f"{tmp_path / 'peek.py'}:" in output  # the file and line that tried
    assert output.strip().splitlines()[-1].startswith("check-lookahead peek.py:Peek: FAILED.")


def test_a_cache_loaded_at_import_fails_the_check(shared_data: Path, tmp_path: Path) -> None:
    data = shared_data / SHORT
    _next_closes(data, tmp_path)
    (tmp_path / "cached.py").write_text(CACHE.format(files="", rule=BUY), encoding="utf-8")
    code, output = _check("cached.py:Cached", data)
    assert code == 1, output
    assert "next_closes.json for reading" in output and "refused by the sandbox" in output


@pytest.mark.parametrize("rule", [BUY, STAY_OUT], ids=["to_buy", "to_stay_out"])
def test_a_declared_cache_it_cannot_cut_is_not_cleared(
    shared_data: Path, tmp_path: Path, rule: str
) -> None:
    """Declared as its own file, the sandbox lets it read the cache, and a JSON file cannot be
    cut: the truncated past cannot show the future it holds. The moved market decides apart,
    which alone would be a dependence on candle times; with a declared file the check could
    not cut, it may be that file's future, so the check does not clear it and says why."""
    data = shared_data / SHORT
    _next_closes(data, tmp_path)
    declared = 'files = ("next_closes.json",)'
    (tmp_path / "cached.py").write_text(CACHE.format(files=declared, rule=rule), encoding="utf-8")
    code, output = _check("cached.py:Cached", data)
    assert code == 1, output
    last = output.strip().splitlines()[-1]
    assert "FAILED. Lookahead not ruled out: " in last, last
    assert "decided differently with every price doubled and the times moved" in last, last
    assert "next_closes.json could not be cut at each candle" in last, last


def test_an_agent_reading_its_own_declared_files_passes(shared_data: Path, tmp_path: Path) -> None:
    (tmp_path / "own_params.json").write_text('{"bias": 1.0}')
    (tmp_path / "weights").mkdir()
    np.save(tmp_path / "weights" / "own.npy", np.ones(4))
    (tmp_path / "own.py").write_text(OWN, encoding="utf-8")
    code, output = _check("own.py:Own", shared_data / SHORT)
    assert code == 0, output
    assert "No lookahead" in output
    assert ("Landlock" in output) == bool(landlock.abi())  # the kernel's walls, where it has them


def test_an_agent_reading_a_file_of_its_own_package_passes(
    shared_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    package = tmp_path / "acme_agents"
    (package / "data").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "data" / "own_params.json").write_text('{"bias": 1.0}')
    (package / "data" / "own.npy").write_bytes(b"")
    np.save(package / "data" / "own.npy", np.ones(4))
    (package / "swing.py").write_text(
        OWN.replace('    files = ("own_params.json", "weights/own.npy")\n', "")
        .replace('here / "own_params.json"', 'here / "data" / "own_params.json"')
        .replace('here / "weights" / "own.npy"', 'here / "data" / "own.npy"'),
        encoding="utf-8",
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    code, output = _check("acme_agents.swing:Own", shared_data / SHORT)
    assert code == 0, output
    assert "No lookahead" in output
