"""Markets: readable symbols to mints (from settings), decimals from chain, Instruments, and
exact conversions between token units (Decimal) and base units (int)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal

from rampart.domain.errors import DataError, VenueError
from rampart.domain.instruments import Instrument
from rampart.venues.solana.rpc import RpcPool
from rampart.venues.solana.settings import MarketConfig

TOKEN_PROGRAM = "TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA"  # noqa: S105 - an on-chain program id
TOKEN_2022_PROGRAM = "TokenzQdBNbLqP5VEhdkAS6EPFLC1PHnBqCXEpPxuEb"  # noqa: S105 - an on-chain program id
TOKEN_PROGRAMS = (TOKEN_PROGRAM, TOKEN_2022_PROGRAM)
"""A mint and its accounts belong to one of these: the classic SPL Token program or
Token-2022 (PYUSD and many newer tokens)."""


def to_base_units(amount: Decimal, decimals: int) -> int:
    """``amount`` tokens in base units; refuses a fraction of the smallest unit."""
    scaled = amount.scaleb(decimals)
    if scaled != scaled.to_integral_value():
        raise VenueError(
            f"{amount} has more than {decimals} decimals, the token's smallest unit.", "precision"
        )
    return int(scaled)


def from_base_units(amount: int, decimals: int) -> Decimal:
    return Decimal(amount).scaleb(-decimals)


@dataclass(frozen=True, slots=True)
class Market:
    symbol: str
    base: str
    quote: str
    base_mint: str
    quote_mint: str
    base_decimals: int
    quote_decimals: int


class Markets:
    def __init__(
        self,
        markets: Mapping[str, MarketConfig],
        *,
        min_notional: Decimal = Decimal(1),
        decimals: Mapping[str, int] | None = None,
    ) -> None:
        """``decimals``: mint -> decimals already known (else read from chain by :meth:`load`)."""
        self.config = dict(markets)
        self.min_notional = min_notional
        self.decimals: dict[str, int] = dict(decimals or {})
        self.markets: dict[str, Market] = {}
        self.instruments: dict[str, Instrument] = {}
        self.asset_of_mint: dict[str, str] = {}
        for symbol, m in self.config.items():
            base, quote = Instrument.split_symbol(symbol)
            self.asset_of_mint.setdefault(m.base_mint, base)
            self.asset_of_mint.setdefault(m.quote_mint, quote)
        if all(self._mints_known(s) for s in self.config):
            self._build(self.config)

    def _mints_known(self, symbol: str) -> bool:
        m = self.config[symbol]
        return m.base_mint in self.decimals and m.quote_mint in self.decimals

    @property
    def loaded(self) -> bool:
        return bool(self.config) and len(self.markets) == len(self.config)

    async def load(self, rpc: RpcPool, symbols: Iterable[str] | None = None) -> None:
        wanted = list(symbols) if symbols is not None else list(self.config)
        unknown = [s for s in wanted if s not in self.config]
        if unknown:
            raise DataError(f"The solana settings list no market {', '.join(unknown)}.")
        for symbol in wanted:
            m = self.config[symbol]
            for mint in (m.base_mint, m.quote_mint):
                if mint not in self.decimals:
                    self.decimals[mint] = await mint_decimals(rpc, mint)
        self._build({s: self.config[s] for s in wanted})

    def _build(self, markets: Mapping[str, MarketConfig]) -> None:
        for symbol, m in markets.items():
            base, quote = Instrument.split_symbol(symbol)
            bd, qd = self.decimals[m.base_mint], self.decimals[m.quote_mint]
            self.markets[symbol] = Market(symbol, base, quote, m.base_mint, m.quote_mint, bd, qd)
            lot = Decimal(1).scaleb(-bd)
            self.instruments[symbol] = Instrument(
                symbol=symbol,
                base=base,
                quote=quote,
                tick_size=Decimal(1).scaleb(-qd),
                lot_size=lot,
                min_qty=lot,
                min_notional=self.min_notional,
            )

    def market(self, symbol: str) -> Market:
        found = self.markets.get(symbol)
        if found is None:
            raise DataError(f"The solana venue does not trade {symbol}.")
        return found

    def instrument(self, symbol: str) -> Instrument:
        found = self.instruments.get(symbol)
        if found is None:
            raise DataError(f"The solana venue does not trade {symbol}.")
        return found


async def mint_decimals(rpc: RpcPool, mint: str) -> int:
    result = await rpc.call("getAccountInfo", [mint, {"encoding": "jsonParsed"}])
    value = result.get("value") if isinstance(result, dict) else None
    if value is None:
        raise DataError(f"The mint {mint} does not exist on chain.")
    try:
        if value["owner"] not in TOKEN_PROGRAMS:
            raise ValueError
        parsed = value["data"]["parsed"]
        if parsed["type"] != "mint":
            raise ValueError
        decimals = parsed["info"]["decimals"]
        if not isinstance(decimals, int) or not 0 <= decimals <= 18:
            raise ValueError
    except (KeyError, TypeError, ValueError):
        raise DataError(f"The account {mint} is not a token mint.") from None
    return decimals


__all__ = [
    "TOKEN_2022_PROGRAM",
    "TOKEN_PROGRAM",
    "TOKEN_PROGRAMS",
    "Market",
    "Markets",
    "from_base_units",
    "mint_decimals",
    "to_base_units",
]
