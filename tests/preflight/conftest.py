"""The loopback services and the settings files that point a venue at them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from solders.keypair import Keypair

from .loopback import Loopback

API_KEY = "pK7x2QvN9wLm4RtY8sZc3VbH6jDf1GaE5uXo0iWq7yTr2eUp9nMk4lJh3gFd6sAq"
SECRET = "sS3cR3tV4lu3N0tT0B3Pr1nt3dAnyWh3r3x9Yq2Wk7Lm5Nb8Vc1Xz4Hg6Jf0Dd2K"
BAGS_KEY = "bagsKey0123456789abcdefABCDEF0123456789"
JUPITER_KEY = "jupKey9876543210fedcbaFEDCBA9876543210"
KEYPAIR = Keypair.from_seed(bytes(range(32)))


@pytest.fixture(scope="module")
def services() -> Iterator[Loopback]:
    with Loopback() as server:
        yield server


@pytest.fixture
def loopback(services: Loopback) -> Iterator[Loopback]:
    """The module's server with every fixture answer back in place and nothing seen yet."""
    services.overrides.clear()
    services.seen.clear()
    yield services
    services.overrides.clear()


def write(path: Path, data: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump(data))
    return path


def ccxt_settings(url: str) -> dict[str, Any]:
    """A Binance testnet configuration whose requests all go to ``url``."""
    return {
        "mode": "testnet",
        "venue": {
            "kind": "ccxt",
            "exchange": "binance",
            "api_url": url,
            "credentials": {"alice": {"api_key": API_KEY, "secret": SECRET}},
        },
        "feed": {"kind": "ccxt", "symbols": ["BTC/USDT"]},
        "accounts": [{"id": "alice", "symbols": ["BTC/USDT"]}],
    }


def solana_settings(url: str, *, rpc: list[str] | None = None) -> dict[str, Any]:
    """A Solana configuration: both routes, one RPC node and a wallet, all at ``url``."""
    return {
        "venue": {"kind": "solana"},
        "feed": {"kind": "solana", "symbols": ["SOL/USDC"]},
        "accounts": [{"id": "alice", "symbols": ["SOL/USDC"]}],
        "solana": {
            "rpc_urls": rpc or [f"{url}/rpc"],
            "jupiter_url": f"{url}/jupiter",
            "bags_url": f"{url}/bags",
            "bags_api_key": BAGS_KEY,
            "jupiter_api_key": JUPITER_KEY,
            "keypairs": {"alice": str(KEYPAIR)},
        },
    }
