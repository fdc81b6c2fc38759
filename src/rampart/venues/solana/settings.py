"""``solana:`` settings: RPC nodes, the two swap routes, slippage, fees, confirmation pace,
the markets (readable symbols to mints) and the operator's own keypairs."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Literal

from pydantic import Field, SecretStr, field_validator, model_validator

from rampart.domain.symbols import SymbolError, normalize_symbol
from rampart.settings_base import Section, refusal

WSOL_MINT = "So11111111111111111111111111111111111111112"
USDC_MINT = "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v"
BONK_MINT = "DezXAZ8z7PnrnRJjz3wXBoRgixCa6xjnB7YaB1pPB263"
JUP_MINT = "JUPyiwrYJFskUPiHa7hkeR8VUtAeFoSYbKedZNsDvCN"
USDT_MINT = "Es9vMFrzaCERmJfrF4H2FYD4KCoNkY11McCe8BenwNYB"
STABLE_MINTS = (USDC_MINT, USDT_MINT)
"""The stablecoins bags.fm prefers for its fee when neither leg is SOL."""

_BUILT_IN_MINTS = frozenset({WSOL_MINT, USDC_MINT, BONK_MINT, JUP_MINT})

RouteName = Literal["bags", "jupiter"]
ROUTE_LABELS: dict[str, str] = {"bags": "bags.fm", "jupiter": "Jupiter"}
"""Every swap route the venue knows (its ``RouteName``), with the name people read; the venue
kind registry (``rampart.wiring.venue_kinds``) registers them from here."""
PARTNER_ROUTE: RouteName = "bags"
"""The route the launch plan wants most swaps through (``solana.route.bags_share_alert``)."""
DEFAULT_BAGS_SHARE = 0.8
"""BagsShareLow's share when the venue trades on Solana and none is set (plan 001: > 80 %)."""
PriorityLevel = Literal["medium", "high", "veryHigh"]


class MarketConfig(Section):
    base_mint: str
    quote_mint: str

    @field_validator("base_mint", "quote_mint")
    @classmethod
    def _mint(cls, value: str) -> str:
        if value in _BUILT_IN_MINTS:
            # The defaults: checked once here, not by loading solders (a tenth of a second
            # on a slow machine) in every command and replay that reads the settings.
            return value
        from solders.pubkey import Pubkey

        try:
            Pubkey.from_string(value)
        except ValueError:
            raise ValueError(f"{value!r} is not a Solana address (base58, 32 bytes)") from None
        return value


def _default_routes() -> list[RouteName]:
    return ["bags", "jupiter"]


class RouteConfig(Section):
    routes: list[RouteName] = Field(default_factory=_default_routes)
    qty_tolerance_bps: int = 50
    """A route's quote is refused unless its base quantity is within this much of the
    order's: bags.fm quotes only an exact input, so its buys are sized from a price."""
    prefer: RouteName | None = PARTNER_ROUTE
    """Take this route when its price is within ``prefer_within_bps`` of the best route's;
    what that gives up is reported per swap. bags.fm by default: the launch plan wants most
    trades through it (plan 001, > 80 %), at a capped cost. None: always the best price."""
    prefer_within_bps: int = 30
    """The cap: the preferred route is taken only when what it gives up against the best
    price is at most this (basis points of the order's value at the best price); 0: only at
    the best price (a tie goes to the preferred route)."""
    bags_share_alert: float | None = None
    """Alert (P2) when bags.fm's share of the day's filled swaps falls below this (0 to 1);
    None: ``DEFAULT_BAGS_SHARE`` when the venue trades on Solana, else off; 0: off."""

    @model_validator(mode="before")
    @classmethod
    def _retired(cls, data: Any) -> Any:
        if isinstance(data, dict):
            for key in ("bags_tolerance_bps", "bags_partner_share"):
                if key in data:
                    raise ValueError(
                        f"{key} was retired: bags.fm pays partners on tokens launched with a "
                        "partner key, not a share of every swap; set 'prefer: bags' and "
                        "'prefer_within_bps' to keep preferring bags.fm"
                    )
        return data

    @field_validator("qty_tolerance_bps")
    @classmethod
    def _qty_tolerance(cls, value: int) -> int:
        if not 1 <= value <= 1000:
            raise ValueError("qty_tolerance_bps must be between 1 and 1000 (10 %)")
        return value

    @field_validator("prefer_within_bps")
    @classmethod
    def _within(cls, value: int) -> int:
        if not 0 <= value <= 1000:
            raise ValueError("prefer_within_bps must be between 0 and 1000 (10 %)")
        return value

    def share_alert(self, venue_kind: str) -> tuple[str, float] | None:
        """The route BagsShareLow watches and the share it should take; None: the alert is
        off. ``venue_kind``: the configured venue's kind (only Solana's swaps)."""
        share = self.bags_share_alert
        if share is None:
            share = DEFAULT_BAGS_SHARE if venue_kind == "solana" else 0.0
        return (PARTNER_ROUTE, share) if share > 0 else None

    @field_validator("bags_share_alert")
    @classmethod
    def _share(cls, value: float | None) -> float | None:
        if value is not None and not 0 <= value <= 1:
            raise ValueError("bags_share_alert must be between 0 (off) and 1 (0.8 = 80 %)")
        return value

    @field_validator("routes")
    @classmethod
    def _routes(cls, value: list[RouteName]) -> list[RouteName]:
        if not value:
            raise ValueError("at least one route (bags or jupiter) is needed")
        if len(set(value)) != len(value):
            raise ValueError("each route may be listed only once")
        return value


def _default_markets() -> dict[str, MarketConfig]:
    return {
        "SOL/USDC": MarketConfig(base_mint=WSOL_MINT, quote_mint=USDC_MINT),
        "BONK/USDC": MarketConfig(base_mint=BONK_MINT, quote_mint=USDC_MINT),
        "JUP/USDC": MarketConfig(base_mint=JUP_MINT, quote_mint=USDC_MINT),
    }


class SolanaConfig(Section):
    rpc_urls: list[str] = Field(default_factory=lambda: ["https://api.mainnet-beta.solana.com"])
    """JSON-RPC nodes, the primary first; the others take over while it is down or behind."""
    jupiter_url: str = "https://api.jup.ag/swap/v1"
    """Jupiter's swap API base (``/quote`` and ``/swap`` under it). The keyless lite-api
    address was retired: this one answers only with ``jupiter_api_key``."""
    jupiter_api_key: SecretStr | None = None
    """Sent as ``x-api-key``; without it Jupiter is not asked (bags.fm alone serves)."""
    bags_url: str = "https://public-api-v2.bags.fm/api/v1"
    """bags.fm's API base (``/trade/quote`` and ``/trade/swap`` under it)."""
    bags_api_key: SecretStr | None = None
    route: RouteConfig = Field(default_factory=RouteConfig)
    slippage_bps: int = 50
    priority_fee_lamports: int = 10_000
    """The most a swap's priority fee may cost (Jupiter's ``maxLamports``)."""
    priority_level: PriorityLevel = "medium"
    """The level Jupiter estimates the priority fee at, within ``priority_fee_lamports``."""
    max_attempts: int = 3
    """Quotes and sends of one order, each after the previous one can no longer land."""
    rebroadcast_ms: int = 2_000
    """A pending attempt's signed transaction is sent again this often until it lands or its
    blockhash expires (a transaction dropped on its way otherwise waits 60-90 s to expire)."""
    confirm_timeout_s: float = 20.0
    confirm_poll_s: float = 0.1
    ws_urls: list[str] = Field(default_factory=list)
    """RPC PubSub websockets (``wss://…``), tried in order: a swap's confirmation is told by
    ``signatureSubscribe`` in the slot it lands instead of learnt by polling. Empty: polling
    only. A provider's key in the address stays in the settings (like ``rpc_urls``')."""
    confirm_fallback_s: float = 2.0
    """While a subscription is open and ``confirm_race`` is off, the status is still polled
    this often (a silent websocket costs at most this much); without one, every
    ``confirm_poll_s``."""
    confirm_race: bool = True
    """While a subscription is open, poll every ``confirm_poll_s`` as well and take whichever
    tells first that the swap reached ``commitment``: a node's PubSub that runs behind its RPC
    (common under load) no longer delays the fill. Off: poll every ``confirm_fallback_s`` and
    wait for the notification (fewer RPC calls)."""
    commitment: Literal["confirmed", "finalized"] = "confirmed"
    lag_slots: int = 50
    request_timeout_s: float = 5.0
    probe_every_s: float = 10.0
    gas_reserve_sol: Decimal = Decimal("0.05")
    """Native SOL kept for network fees: never wrapped, never counted as SOL to trade."""
    min_notional: Decimal = Decimal(1)
    markets: dict[str, MarketConfig] = Field(default_factory=_default_markets)
    keypairs: dict[str, SecretStr] = Field(default_factory=dict)
    """Account id -> base58 64-byte secret, or ``file:/path`` of a solana-keygen JSON array."""

    @model_validator(mode="after")
    def _jupiter_needs_its_key(self) -> SolanaConfig:
        if self.route.routes == ["jupiter"] and self.jupiter_api_key is None:
            raise ValueError(
                "route jupiter needs solana.jupiter_api_key: Jupiter's swap API answers only "
                "with a key since its keyless address was retired"
            )
        return self

    def route_problem(self) -> str | None:
        """Why no listed route can serve (one sentence), or None when one can."""
        usable = [r for r in self.route.routes if self.route_key(r) is not None]
        if usable:
            return None
        return (
            "The solana venue has no route it can ask: set 'solana.jupiter_api_key' (Jupiter "
            "answers only with a key) or 'solana.bags_api_key'."
        )

    def route_key(self, route: str) -> SecretStr | None:
        return self.jupiter_api_key if route == "jupiter" else self.bags_api_key

    @field_validator("rpc_urls")
    @classmethod
    def _rpc_urls(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError("at least one RPC URL is needed")
        for url in value:
            if not url.startswith(("http://", "https://")):
                raise ValueError(
                    f"RPC URL {url.split('?')[0]!r} must start with http:// or https://"
                )
        return value

    @field_validator("slippage_bps")
    @classmethod
    def _slippage(cls, value: int) -> int:
        if not 1 <= value <= 5000:
            raise ValueError("slippage_bps must be between 1 and 5000 (50 %)")
        return value

    @field_validator("priority_fee_lamports")
    @classmethod
    def _priority(cls, value: int) -> int:
        if not 0 <= value <= 100_000_000:
            raise ValueError("priority_fee_lamports must be between 0 and 100000000 (0.1 SOL)")
        return value

    @field_validator("max_attempts")
    @classmethod
    def _attempts(cls, value: int) -> int:
        if not 1 <= value <= 10:
            raise ValueError("max_attempts must be between 1 and 10")
        return value

    @field_validator(
        "confirm_timeout_s",
        "confirm_poll_s",
        "confirm_fallback_s",
        "request_timeout_s",
        "probe_every_s",
    )
    @classmethod
    def _positive_seconds(cls, value: float) -> float:
        if not 0 < value <= 600:
            raise ValueError("timeouts and intervals must be more than 0 and at most 600 seconds")
        return value

    @field_validator("rebroadcast_ms")
    @classmethod
    def _rebroadcast(cls, value: int) -> int:
        if not 100 <= value <= 60_000:
            raise ValueError("rebroadcast_ms must be between 100 and 60000 (a minute)")
        return value

    @field_validator("lag_slots")
    @classmethod
    def _lag(cls, value: int) -> int:
        if not 1 <= value <= 10_000:
            raise ValueError("lag_slots must be between 1 and 10000")
        return value

    @field_validator("gas_reserve_sol")
    @classmethod
    def _gas_reserve(cls, value: Decimal) -> Decimal:
        if not value.is_finite() or not Decimal("0.001") <= value <= 10:
            raise ValueError("gas_reserve_sol must be between 0.001 and 10 SOL")
        return value

    @field_validator("min_notional")
    @classmethod
    def _min_notional(cls, value: Decimal) -> Decimal:
        if value < 0:
            raise ValueError("min_notional cannot be negative")
        return value

    @field_validator("markets")
    @classmethod
    def _markets(cls, value: dict[str, MarketConfig]) -> dict[str, MarketConfig]:
        named: dict[str, MarketConfig] = {}
        for written, market in value.items():
            try:
                symbol = normalize_symbol(written)
            except SymbolError as exc:
                raise refusal(f"market {exc}") from None
            if symbol in named:
                raise refusal(f"market {symbol} is named twice")
            if market.base_mint == market.quote_mint:
                raise refusal(f"market {symbol} trades a mint against itself")
            named[symbol] = market
        return named


__all__ = ["MarketConfig", "PriorityLevel", "RouteConfig", "SolanaConfig"]
