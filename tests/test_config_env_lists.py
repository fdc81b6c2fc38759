"""List settings from ``RAMPART_…`` variables.

``RAMPART_FEED__SYMBOLS=BTC/USDT,ETH/USDT`` ended in "Unexpected error: SettingsError" (rc 1):
pydantic-settings read a list from a variable only as JSON. Both documented forms are taken
now, for every list of plain values; a value no form reads is refused naming the variable.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from rampart.cli.main import app
from rampart.config import load_settings
from rampart.config.env_source import scalar_list
from rampart.domain.errors import ConfigError

BOTH = ["BTC/USDT", "ETH/USDT"]


@pytest.fixture(autouse=True)
def _here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # no ./rampart.yaml of the checkout's
    monkeypatch.delenv("RAMPART_CONFIG", raising=False)


@pytest.mark.parametrize(
    "value",
    [
        "BTC/USDT,ETH/USDT",
        " btc/usdt , ETH/USDT ,",
        '["BTC/USDT", "ETH/USDT"]',
        "BTC/USDT,ETH/USDT,",
    ],
)
def test_a_symbol_list_is_read_as_a_comma_list_or_json(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("RAMPART_FEED__SYMBOLS", value)
    assert load_settings().feed.symbols == BOTH


def test_one_symbol_alone_is_a_list_of_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAMPART_FEED__SYMBOLS", "BTC/USDT")
    monkeypatch.setenv("RAMPART_ACCOUNTS", '[{"id": "a", "symbols": ["BTC/USDT"]}]')
    assert load_settings().feed.symbols == ["BTC/USDT"]


def test_config_show_takes_the_comma_list(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAMPART_FEED__SYMBOLS", "BTC/USDT,ETH/USDT")
    shown = CliRunner().invoke(app, ["config", "show"])
    assert shown.exit_code == 0, shown.output
    assert "Unexpected error" not in shown.output
    assert "- BTC/USDT\n  - ETH/USDT" in shown.output


@pytest.mark.parametrize(
    ("variable", "value", "words"),
    [
        ("RAMPART_FEED__SYMBOLS", '["BTC/USDT",', "write it as a comma list"),
        ("RAMPART_PROFILES", "moderate", "must be JSON"),
        ("RAMPART_ACCOUNTS", "a,b", "must be JSON"),
    ],
)
def test_an_unreadable_value_is_refused_in_one_sentence_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, words: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError) as caught:
        load_settings()
    text = str(caught.value)
    assert variable in text and words in text, text
    shown = CliRunner().invoke(app, ["config", "show"])
    assert shown.exit_code == 2, shown.output
    assert "Unexpected error" not in shown.output and "Traceback" not in shown.output
    assert variable in " ".join(shown.output.split())


def test_only_lists_of_plain_values_are_split_on_commas() -> None:
    from rampart.config import Settings
    from rampart.market.settings import FeedConfig

    assert scalar_list(FeedConfig.model_fields["symbols"])
    assert not scalar_list(Settings.model_fields["accounts"])  # a list of accounts: JSON only
    assert not scalar_list(Settings.model_fields["profiles"])


def test_numbers_too(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAMPART_TELEGRAM__OPERATOR_IDS", "101, 102")
    assert load_settings().telegram.operator_ids == [101, 102]
