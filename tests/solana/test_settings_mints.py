"""Market mints in the settings: the built-in ones pass without loading solders (every command
and replay reads the settings), any other is checked as a Solana address."""

from __future__ import annotations

import subprocess
import sys

import pytest

from rampart.config import load_settings
from rampart.domain.errors import ConfigError
from rampart.venues.solana.settings import USDC_MINT, WSOL_MINT


def test_the_default_settings_do_not_load_solders() -> None:
    code = (
        "import sys\n"
        "from rampart.config import load_settings\n"
        "settings = load_settings()\n"
        "assert settings.solana.markets, 'the default markets are there'\n"
        "print('solders' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"


def test_a_mint_of_ones_own_is_checked_as_an_address() -> None:
    good = "So11111111111111111111111111111111111111111"  # base58, 32 bytes; not built in
    settings = load_settings(
        solana={"markets": {"ONE/USDC": {"base_mint": good, "quote_mint": USDC_MINT}}}
    )
    assert settings.solana.markets["ONE/USDC"].base_mint == good
    with pytest.raises(ConfigError, match="is not a Solana address"):
        load_settings(
            solana={"markets": {"BAD/USDC": {"base_mint": "not-a-mint", "quote_mint": WSOL_MINT}}}
        )
