"""``check-lookahead`` judges an agent by its decisions on a truncated past, its declared files
cut too: the mistakes authors make with a file they ship beside the agent fail, naming the file,
and each one's honest twin passes.

Every planted agent reads ``bars.csv`` (the test data's candles: a ``date`` column and the
closes), declared in ``files``, computes one number per row when it is built, and buys with that
number in its confidence, so any change of the number at a candle changes the decision there:

- a column shifted back a row (``shift(-1)``: the next close) looked up by bar position; its
  twin shifts forward (``shift(1)``: the previous close);
- a z-score over the whole file looked up by time; its twin's z-score is over the 50 rows up to
  each one;
- a k-NN model (numpy) fitted on every row (features: the last three returns; label: the next one's
  sign); its twin is fitted on the rows before a start date and trades only after it; the same
  pair with scikit-learn's ``KNeighborsClassifier`` (whose threadpoolctl opens its own OpenMP
  and BLAS libraries through ctypes, and joblib reads the clock: the library's doing, not the
  agent's);
- a centred rolling mean (``center=True``); its twin's window ends at the row;
- an hourly value back-filled (``bfill``) onto the 5-minute rows; its twin fills forward;
- an hourly (informative) series merged on the forming hour; its twin on the closed hour;
- an hourly mean resampled and labelled at its left edge (its open), merged as of each row;
  its twin is labelled at its right edge (its close);
- a min-max scaler fitted on every row; its twin is fitted on the rows before a start date;
- the file's last row (``iloc[-1]``: a close still to come); its twin reads the first row.

Before the files were cut, the mistakes passed (their files were whole in every run) and the
twins looking rows up by time failed on the moved market (its times are not the file's).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from rampart.agents import plugins
from rampart.cli.main import app
from rampart.market.loaders import load_candles
from tests.research.helpers import SHORT

runner = CliRunner()

HEAD = '''
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd

from rampart.agents.base import RuleAgent
from rampart.agents.indicators import ATR

FILE = Path(__file__).parent / "bars.csv"
START = 0


class Planted(RuleAgent):
    """Buys on its number's sign; the number's size is its confidence."""

    name = "planted"
    files = ("bars.csv",)

    def __init__(self) -> None:
        super().__init__(Decimal(1))
        self.warmup = 15
        self._atr = ATR(14)
        self._bar = -1
        frame = pd.read_csv(FILE)
        stamps = pd.to_datetime(frame["date"], utc=True).dt.as_unit("ms").astype("int64")
        values = self.numbers(frame)
        self.by_bar = [float(v) for v in values]
        self.by_time = dict(zip(stamps.tolist(), self.by_bar))

    def _advance(self, candle):
        self._bar += 1
        self._atr.update(candle.high, candle.low, candle.close)

    def _decide(self, view):
        value = self.look(view)
        if self._atr.value is None or value is None or not np.isfinite(value) or value <= 0:
            return []
        confidence = 0.5 + min(value, 1.0) * 0.49
        return self.open_long(view, self._atr.value, 1.5, Decimal("1.5"), confidence, "planted")
'''

BY_BAR = """
    def look(self, view):
        return self.by_bar[self._bar] if self._bar < len(self.by_bar) else None
"""
BY_TIME = """
    def look(self, view):
        return self.by_time.get(view.candle.ts)
"""

NEXT_CLOSE = """
    def numbers(self, frame):
        return (frame["close"].shift(-1) / frame["close"] - 1) * 100
"""
PREVIOUS_CLOSE = """
    def numbers(self, frame):
        return (frame["close"] / frame["close"].shift(1) - 1) * 100
"""
WHOLE_ZSCORE = """
    def numbers(self, frame):
        close = frame["close"]
        return -(close - close.mean()) / close.std()
"""
ROLLING_ZSCORE = """
    def numbers(self, frame):
        close = frame["close"]
        mean, std = close.rolling(50).mean(), close.rolling(50).std()
        return -(close - mean) / std
"""
MODEL = """
    def numbers(self, frame):
        # A k-nearest-neighbours vote, written out in numpy.
        returns = frame["close"].pct_change()
        features = pd.concat([returns.shift(k).rename(f"r{k}") for k in range(3)], axis=1)
        usable = features.notna().all(axis=1).to_numpy()
        label = (returns.shift(-1) > 0).to_numpy(dtype=float)
        train = usable & returns.shift(-1).notna().to_numpy() & self.trained(frame)
        known, votes = features.to_numpy()[train], label[train]
        out = np.full(len(frame), np.nan)
        rows = np.flatnonzero(usable & (~self.trained(frame) | self.everywhere))
        distance = ((features.to_numpy()[rows][:, None, :] - known[None]) ** 2).sum(axis=2)
        nearest = np.argsort(distance, axis=1, kind="stable")[:, :15]
        out[rows] = votes[nearest].mean(axis=1) - 0.5
        return out
"""
SKLEARN_MODEL = """
    def numbers(self, frame):
        from sklearn.neighbors import KNeighborsClassifier

        returns = frame["close"].pct_change()
        features = pd.concat([returns.shift(k).rename(f"r{k}") for k in range(3)], axis=1)
        usable = features.notna().all(axis=1).to_numpy()
        label = (returns.shift(-1) > 0).astype(int).to_numpy()
        train = usable & returns.shift(-1).notna().to_numpy() & self.trained(frame)
        out = np.full(len(frame), np.nan)
        if train.sum() < 15:  # too few rows to fit on (a short file, or one cut early)
            return out
        model = KNeighborsClassifier(n_neighbors=15).fit(features[train].to_numpy(), label[train])
        rows = np.flatnonzero(usable & (~self.trained(frame) | self.everywhere))
        if len(rows):
            out[rows] = model.predict_proba(features.to_numpy()[rows])[:, 1] - 0.5
        return out
"""
ALL_ROWS = """
    everywhere = True

    def trained(self, frame):
        return np.ones(len(frame), dtype=bool)
"""
BEFORE_START = """
    everywhere = False

    def trained(self, frame):
        # Fitted on the rows before START only (a fixed date); it trades only from there on.
        stamps = pd.to_datetime(frame["date"], utc=True).dt.as_unit("ms").astype("int64")
        return (stamps < START).to_numpy()
"""

CENTRED = """
    def numbers(self, frame):
        return (frame["close"].rolling(21, center=True).mean() / frame["close"] - 1) * 100
"""
TRAILING = """
    def numbers(self, frame):
        return (frame["close"].rolling(21).mean() / frame["close"] - 1) * 100
"""
BACK_FILLED = """
    def numbers(self, frame):
        hourly = frame["close"].where(np.arange(len(frame)) % 12 == 0)
        return (hourly.bfill() / frame["close"] - 1) * 100
"""
FORWARD_FILLED = """
    def numbers(self, frame):
        hourly = frame["close"].where(np.arange(len(frame)) % 12 == 0)
        return (hourly.ffill() / frame["close"] - 1) * 100
"""

# An hourly series beside the 5-minute rows, each hour stamped at its open (Freqtrade's
# informative pair): merged on the forming hour, a row sees that hour's last close; merged on
# the closed hour (stamped an hour on, as ``merge_informative_pair`` shifts it), the hour before.
FORMING_HOUR = """
    def numbers(self, frame):
        stamps = pd.to_datetime(frame["date"], utc=True)
        hourly = frame.groupby(stamps.dt.floor("1h"))["close"].last()
        return (stamps.dt.floor("1h").map(hourly).to_numpy() / frame["close"] - 1) * 100
"""
CLOSED_HOUR = """
    def numbers(self, frame):
        stamps = pd.to_datetime(frame["date"], utc=True)
        hourly = frame.groupby(stamps.dt.floor("1h"))["close"].last()
        hourly.index = hourly.index + pd.Timedelta(hours=1)
        return (stamps.dt.floor("1h").map(hourly).to_numpy() / frame["close"] - 1) * 100
"""
# An hourly mean resampled and merged back as of each row's open. The rows are stamped at their
# open, so the bar labelled at its left edge (its open) reaches rows whose closes it holds; the
# bar labelled at its right edge (its close) reaches only rows after it.
LEFT_LABEL = """
    def numbers(self, frame):
        return self.resampled(frame, "left")
"""
RIGHT_LABEL = """
    def numbers(self, frame):
        return self.resampled(frame, "right")
"""
RESAMPLED = """
    def resampled(self, frame, label):
        rows = frame.assign(date=pd.to_datetime(frame["date"], utc=True))
        hourly = rows.set_index("date")["close"].resample("1h", label=label).mean()
        merged = pd.merge_asof(rows, hourly.rename("hourly").reset_index(), on="date")
        return (merged["hourly"] / merged["close"] - 1) * 100
"""
# A min-max scaler: fitted on every row, each row is scaled by extremes still to come; fitted on
# the rows before a start date (and used only from there on), by extremes already seen.
SCALED = """
    def numbers(self, frame):
        stamps = pd.to_datetime(frame["date"], utc=True).dt.as_unit("ms").astype("int64")
        close = frame["close"]
        fitted = close[(stamps < START) | self.everywhere]
        low, high = fitted.min(), fitted.max()
        scaled = (close - low) / (high - low) - 0.5
        return scaled.where((stamps >= START) | self.everywhere)
"""
SCALER_ALL_ROWS = """
    everywhere = True
"""
SCALER_BEFORE_START = """
    everywhere = False
"""

# An absolute row of the file (Freqtrade: never ``.iloc[-1]`` in a populate method, it is another
# row in backtesting than live): the file's last close is a close still to come at every row
# but the last; its first close is one already seen.
LAST_ROW = """
    def numbers(self, frame):
        return (frame["close"].iloc[-1] / frame["close"] - 1) * 100
"""
FIRST_ROW = """
    def numbers(self, frame):
        return (frame["close"].iloc[0] / frame["close"] - 1) * 100
"""

MISTAKES = {
    "next_close_by_bar": NEXT_CLOSE + BY_BAR,
    "whole_file_zscore": WHOLE_ZSCORE + BY_TIME,
    "model_fitted_on_all_rows": MODEL + ALL_ROWS + BY_TIME,
    "sklearn_model_fitted_on_all_rows": SKLEARN_MODEL + ALL_ROWS + BY_TIME,
    "centred_window": CENTRED + BY_TIME,
    "back_filled": BACK_FILLED + BY_BAR,
    "informative_merged_on_the_forming_hour": FORMING_HOUR + BY_TIME,
    "resampled_labelled_at_the_left_edge": LEFT_LABEL + RESAMPLED + BY_TIME,
    "scaler_fitted_on_all_rows": SCALED + SCALER_ALL_ROWS + BY_TIME,
    "the_files_last_row": LAST_ROW + BY_TIME,
}
TWINS = {
    "previous_close_by_bar": PREVIOUS_CLOSE + BY_BAR,
    "rolling_zscore": ROLLING_ZSCORE + BY_TIME,
    "model_fitted_before_its_start": MODEL + BEFORE_START + BY_TIME,
    "sklearn_model_fitted_before_its_start": SKLEARN_MODEL + BEFORE_START + BY_TIME,
    "trailing_window": TRAILING + BY_TIME,
    "forward_filled": FORWARD_FILLED + BY_BAR,
    "informative_merged_on_the_closed_hour": CLOSED_HOUR + BY_TIME,
    "resampled_labelled_at_the_right_edge": RIGHT_LABEL + RESAMPLED + BY_TIME,
    "scaler_fitted_before_its_start": SCALED + SCALER_BEFORE_START + BY_TIME,
    "the_files_first_row": FIRST_ROW + BY_TIME,
}


@pytest.fixture(autouse=True)
def _own_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(plugins, "_resolved", {})
    monkeypatch.chdir(tmp_path)


def _planted(tmp_path: Path, data: Path, body: str, folder: str = ".") -> None:
    candles = list(load_candles(data).series.iter_candles())
    frame = pd.DataFrame(
        {
            "date": pd.to_datetime([c.ts for c in candles], unit="ms", utc=True),
            "close": [c.close for c in candles],
        }
    )
    home = tmp_path / folder
    home.mkdir(exist_ok=True)
    frame.to_csv(home / "bars.csv", index=False)
    start = candles[len(candles) // 2].ts  # the twin's model is fitted on the rows before it
    (home / "planted.py").write_text(
        HEAD.replace("START = 0", f"START = {start}") + body, encoding="utf-8"
    )


def _check(data: Path, spec: str = "planted.py:Planted") -> tuple[int, str]:
    done = runner.invoke(app, ["check-lookahead", spec, "--data", str(data), "--signals", "8"])
    return done.exit_code, done.output


@pytest.mark.parametrize("body", MISTAKES.values(), ids=MISTAKES.keys())
def test_a_file_computed_with_the_future_fails_naming_the_file(
    shared_data: Path, tmp_path: Path, body: str
) -> None:
    _planted(tmp_path, shared_data / SHORT, body)
    code, output = _check(shared_data / SHORT)
    assert code == 1, output
    last = output.strip().splitlines()[-1]
    assert last.startswith("check-lookahead planted.py:Planted: FAILED. Lookahead:"), last
    assert "changed when the rows after them were removed (bars.csv " in last, last
    assert "with bars.csv cut at that candle it proposed" in output, output
    # The attribute its number was looked up in carried the future, and is named.
    through = "Planted.by_bar" if BY_BAR in body else "Planted.by_time"
    assert through in last.partition("(bars.csv ")[2].partition(")")[0], last
    assert through in output.partition("(the future came through ")[2].partition(")")[0], output


@pytest.mark.parametrize("body", TWINS.values(), ids=TWINS.keys())
def test_its_honest_twin_reading_rows_up_to_the_candle_passes(
    shared_data: Path, tmp_path: Path, body: str
) -> None:
    _planted(tmp_path, shared_data / SHORT, body)
    code, output = _check(shared_data / SHORT)
    assert code == 0, output
    last = output.strip().splitlines()[-1]
    assert last.startswith("check-lookahead planted.py:Planted: passed. No lookahead:"), last
    assert "with each declared file cut: bars.csv cut by its 'date' column" in last, last
    # Looked up by time, the moved market's times miss its rows: said, never called lookahead.
    by_time = "decided differently with every price doubled and the times moved: its decisions "
    by_time += "depend on candle times (it looks up bars.csv's 'date' column, Planted.by_time "
    by_time += "by time), which is not lookahead"
    assert (by_time in last) == (BY_TIME in body), last


@pytest.mark.parametrize(
    ("body", "fails"), [(NEXT_CLOSE + BY_BAR, True), (PREVIOUS_CLOSE + BY_BAR, False)]
)
def test_an_agent_in_a_package_has_its_files_cut_too(
    shared_data: Path, tmp_path: Path, body: str, fails: bool
) -> None:
    (tmp_path / "strat").mkdir()
    (tmp_path / "strat" / "__init__.py").write_text("")
    _planted(tmp_path, shared_data / SHORT, body, "strat")
    code, output = _check(shared_data / SHORT, "strat/planted.py:Planted")
    assert code == (1 if fails else 0), output
    assert ("(bars.csv " in output) == fails, output
