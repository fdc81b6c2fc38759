"""Every configuration mistake is found when the configuration is read, in one sentence that
names the key and says what it expects: ``rampart config show`` refuses it as ``rampart run``
does, before anything starts. None is an "Unexpected error", none a traceback.

Symbols were checked only when the service built its accounts: ``BTCUSDT`` passed ``config
show`` and then ``run`` crashed ("Unexpected error: ValueError …"); ``btc/usdt`` traded in
"usdt". Now a symbol is BASE/QUOTE, written in capitals (lower case is read as capitals), and
every other form is answered with the way to write it.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from rampart.cli.main import app

WSOL = "So11111111111111111111111111111111111111112"
USDC = "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v"


def account(**fields: Any) -> dict[str, Any]:
    return {"accounts": [{"id": "a", "symbols": ["BTC/USDT"], **fields}]}


# (settings, the key the sentence names, words it must hold)
BAD: list[tuple[str, dict[str, Any], str, str]] = [
    ("no-slash", account(symbols=["BTCUSDT"]), "accounts[0].symbols[0]", "write BTC/USDT"),
    ("dash", account(symbols=["BTC-USDT"]), "accounts[0].symbols[0]", "write BTC/USDT"),
    ("underscore", account(symbols=["eth_usdt"]), "accounts[0].symbols[0]", "write ETH/USDT"),
    ("space", account(symbols=["BTC USDT"]), "accounts[0].symbols[0]", "write BTC/USDT"),
    ("two-slashes", account(symbols=["BTC/USDT/X"]), "accounts[0].symbols[0]", "BASE/QUOTE"),
    ("no-base", account(symbols=["/USDT"]), "accounts[0].symbols[0]", "BASE/QUOTE"),
    ("empty", account(symbols=[""]), "accounts[0].symbols[0]", "BASE/QUOTE"),
    ("unknown-quote", account(symbols=["BTCXYZ"]), "accounts[0].symbols[0]", "BASE/QUOTE"),
    ("two-quotes", account(symbols=["BTC/USDT", "ETH/BTC"]), "accounts[0].symbols", "one quote"),
    ("twice", account(symbols=["BTC/USDT", "btc/usdt"]), "accounts[0].symbols", "twice"),
    ("not-fed", account(symbols=["SOL/USDT"]), "accounts[0].symbols", "feed.symbols"),
    ("not-a-list", account(symbols="BTC/USDT"), "accounts[0].symbols", "list"),
    ("no-symbols", account(symbols=[]), "accounts[0].symbols", "at least 1"),
    ("feed-form", {"feed": {"symbols": ["ETHUSDT"]}}, "feed.symbols[0]", "write ETH/USDT"),
    (
        "stage-form",
        {"rollout": {"stages": [{"name": "internal", "symbols": ["BTCUSDT"]}, {"name": "open"}]}},
        "rollout.stages[0].symbols[0]",
        "write BTC/USDT",
    ),
    (
        "market-form",
        {"solana": {"markets": {"SOLUSDC": {"base_mint": WSOL, "quote_mint": USDC}}}},
        "solana.markets",
        "write SOL/USDC",
    ),
    (
        "market-mint",
        {"solana": {"markets": {"SOL/USDC": {"base_mint": "not-a-mint", "quote_mint": USDC}}}},
        "solana.markets.SOL/USDC.base_mint",
        "Solana address",
    ),
    ("replay-no-path", {"feed": {"kind": "replay"}}, "feed.path", "replay"),
    (
        "replay-missing",
        {"feed": {"kind": "replay", "path": "/nowhere/ETH_BTC-5m.feather"}},
        "feed.path",
        "does not exist",
    ),
    ("timeframe", {"feed": {"timeframe": "5 minutes"}}, "feed.timeframe", "5m"),
    ("feed-kind", {"feed": {"kind": "binance"}}, "feed.kind", "ccxt"),
    ("venue-kind", {"venue": {"kind": "binance"}}, "venue.kind", "ccxt"),
    (
        "exchange",
        {"venue": {"kind": "ccxt", "exchange": "binanse", "sandbox": True}},
        "venue.exchange",
        "binance",
    ),
    ("api-url", {"venue": {"api_url": "localhost:8900"}}, "venue.api_url", "http://"),
    ("fee", {"venue": {"taker_fee": 0.5}}, "venue.taker_fee", "0.05"),
    (
        "credentials",
        {"venue": {"credentials": {"a": {"api_key": "k"}}}},
        "venue.credentials.a.secret",
        "required",
    ),
    ("agent", account(agent="trnd"), "accounts[0].agent", "trend"),
    ("profile", account(profile="agressive"), "accounts[0].profile", "aggressive"),
    ("agent-param", account(params={"fast": "x"}), "accounts[0].params", "fast"),
    ("profile-override", {"profiles": {"moderate": {"riskk": 0.01}}}, "profiles", "riskk"),
    ("typo", {"acounts": []}, "acounts", "accounts"),
    ("account-id", account(id="my account"), "accounts[0].id", "letters"),
]


def _write(tmp_path: Path, name: str, settings: dict[str, Any]) -> Path:
    base = {"store": {"url": f"sqlite:///{tmp_path / 'r.db'}"}, "api": {"enabled": False}}
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump({**base, **settings}))
    return path


def _one_sentence(output: str, key: str, words: str) -> None:
    text = " ".join(output.split())
    assert "Unexpected error" not in text and "Traceback" not in text, text
    assert text.startswith("Error: Bad configuration: "), text
    assert f"'{key}'" in text, (key, text)
    assert words in text, (words, text)
    assert text.endswith(".") and re.search(r"\.\s+[A-Z]", text) is None, text


def test_the_table_has_thirty_mistakes() -> None:
    assert len(BAD) >= 30
    assert len({name for name, *_ in BAD}) == len(BAD)


@pytest.mark.parametrize(("name", "settings", "key", "words"), BAD, ids=[b[0] for b in BAD])
def test_config_show_and_run_refuse_it_in_one_sentence(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    name: str,
    settings: dict[str, Any],
    key: str,
    words: str,
) -> None:
    monkeypatch.chdir(tmp_path)  # run writes var/rampart.log where it runs
    path = _write(tmp_path, name, settings)
    runner = CliRunner()
    shown = runner.invoke(app, ["config", "show", "--config", str(path)])
    ran = runner.invoke(app, ["run", "--config", str(path), "--max-candles", "3", "--no-view"])
    for result in (shown, ran):
        assert result.exit_code == 2, result.output
        _one_sentence(result.output, key, words)
    assert " ".join(shown.output.split()) == " ".join(ran.output.split())
    assert not (tmp_path / "r.db").exists()  # refused before the store was touched


def test_lower_case_symbols_are_read_as_capitals(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    path = _write(
        tmp_path,
        "lower",
        {**account(symbols=["btc/usdt"]), "feed": {"symbols": ["btc/usdt", "eth/usdt"]}},
    )
    runner = CliRunner()
    shown = runner.invoke(app, ["config", "show", "--config", str(path)])
    assert shown.exit_code == 0, shown.output
    assert "btc/usdt" not in shown.output and "- BTC/USDT" in shown.output
    ran = runner.invoke(app, ["run", "--config", str(path), "--max-candles", "3", "--no-view"])
    assert ran.exit_code == 0, ran.output
    assert "usdt" not in ran.output and "USDT" in ran.output
