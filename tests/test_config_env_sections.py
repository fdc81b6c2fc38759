"""A misspelt settings section in the environment is named, not ignored:
``RAMPART_FEEDD__SYMBOLS`` was dropped without a word and the service ran on the default
symbols; now loading the settings refuses it in one sentence with the spelling meant."""

from __future__ import annotations

from pathlib import Path

import pytest

from rampart.config import load_settings
from rampart.domain.errors import ConfigError


def test_a_misspelt_section_is_named_with_the_one_meant(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # no ./rampart.yaml of the checkout's
    monkeypatch.setenv("RAMPART_FEEDD__SYMBOLS", "BTC/USDT,ETH/USDT")
    with pytest.raises(ConfigError) as refused:
        load_settings()
    said = refused.value.message
    assert said.startswith("RAMPART_FEEDD__SYMBOLS names no settings section")
    assert "did you mean RAMPART_FEED__SYMBOLS?" in said
    monkeypatch.delenv("RAMPART_FEEDD__SYMBOLS")
    monkeypatch.setenv("RAMPART_FEED__SYMBOLS", "BTC/USDT,ETH/USDT")
    assert load_settings().feed.symbols == [
        "BTC/USDT",
        "ETH/USDT",
    ]  # the right spelling still reads
    monkeypatch.setenv("RAMPART_TEST_SOMETHING", "1")  # no section: not a setting's variable
    assert load_settings().feed.symbols == ["BTC/USDT", "ETH/USDT"]
