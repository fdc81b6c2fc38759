"""How a person's symbol is read: ``BASE/QUOTE`` in capitals, or a refusal that says how to
write it (the settings file, the API and the bot all answer with these words)."""

from __future__ import annotations

import pytest

from rampart.domain.symbols import SymbolError, normalize_symbol, quote_asset


@pytest.mark.parametrize(
    ("raw", "symbol"),
    [
        ("BTC/USDT", "BTC/USDT"),
        (" btc / usdt ", "BTC/USDT"),
        ("1000shib/usdt", "1000SHIB/USDT"),
        ("BTC.B/USD-T", "BTC.B/USD-T"),
    ],
)
def test_a_symbol_is_read_in_capitals(raw: str, symbol: str) -> None:
    assert normalize_symbol(raw) == symbol


@pytest.mark.parametrize(
    ("raw", "meant"),
    [
        ("BTCUSDT", "BTC/USDT"),
        ("btcusdt", "BTC/USDT"),
        ("ethfdusd", "ETH/FDUSD"),  # the longest quote wins: not ETHFD/USD
        ("sol-usdc", "SOL/USDC"),
        ("  xrp_eur ", "XRP/EUR"),
        ("link  btc", "LINK/BTC"),
        ("doge:usdt", "DOGE/USDT"),
    ],
)
def test_a_symbol_without_its_slash_is_answered_with_the_one_meant(raw: str, meant: str) -> None:
    with pytest.raises(SymbolError) as refused:
        normalize_symbol(raw)
    assert str(refused.value) == f"{raw!r} is not BASE/QUOTE: write {meant}"


@pytest.mark.parametrize(
    "raw",
    [
        "BTC/BTC",  # one asset against itself
        "BTC/",
        "/USDT",
        "BTC/USDT/ETH",
        "BTC/US DT",
        "USDT",  # a quote alone: nothing before it
        "BTC-ETH-USDT",
        "BTC$USDT",
        "BTC/U$DT",
        "",
    ],
)
def test_what_is_no_symbol_is_refused_with_how_to_write_one(raw: str) -> None:
    with pytest.raises(SymbolError) as refused:
        normalize_symbol(raw)
    assert str(refused.value) == (
        f"{raw!r} is not a symbol: write it as BASE/QUOTE, two different assets in letters and "
        "digits, for example BTC/USDT"
    )


def test_a_symbol_that_is_not_text_is_refused_as_such() -> None:
    for raw in (5, None, ["BTC", "USDT"]):
        with pytest.raises(SymbolError) as refused:
            normalize_symbol(raw)
        assert str(refused.value) == f"a symbol is text such as BTC/USDT, not {raw!r}"


@pytest.mark.parametrize(
    ("symbol", "quote"),
    [
        ("BTC/USDT", "USDT"),
        ("ETH/BTC", "BTC"),
        ("XRP/USDT:USDT", "USDT"),  # ccxt's perpetual suffix is not part of the quote
        ("USDT", "USDT"),
    ],
)
def test_the_quote_asset_of_a_symbol(symbol: str, quote: str) -> None:
    assert quote_asset(symbol) == quote
