"""``venue:`` settings: paper fills or a ccxt exchange, fees, credentials and limits."""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator

from rampart.settings_base import Section, refusal


class ApiCredentials(Section):
    api_key: SecretStr
    secret: SecretStr


class BudgetLanesConfig(Section):
    """``venue.budget.lanes``: the share of the address's request limit each kind of request
    holds for itself (docs/operators/exchanges.md, "Request budget"). What the lanes do not
    reserve is the spare pool, which any lane borrows from once its own share is spent."""

    market: float = Field(default=0.15, ge=0, le=1)
    """Candles and tickers: the feed's polls, fee and trigger prices."""
    protect: float = Field(default=0.15, ge=0, le=1)
    """Stop-losses, take-profits, exits and cancels (with the reads they need)."""
    reconcile: float = Field(default=0.25, ge=0, le=1)
    """Reconciliation and order polling: orders, trades, balances."""
    entry: float = Field(default=0.15, ge=0, le=1)
    """New positions (with the reads they need)."""

    @model_validator(mode="after")
    def _within_the_limit(self) -> BudgetLanesConfig:
        total = self.market + self.protect + self.reconcile + self.entry
        if total > 1 + 1e-9:
            raise refusal(
                f"venue.budget.lanes reserve {total * 100:.0f} % of the request limit "
                "together; they may reserve at most 100 % (what they leave is the spare pool "
                "every lane borrows from)."
            )
        return self


class RequestBudgetConfig(Section):
    """``venue.budget``: one request budget per exchange and egress address, shared by every
    account's client and the feed (docs/operators/exchanges.md, "Request budget")."""

    enabled: bool = True
    address: str = Field(default="default", min_length=1, max_length=64)
    """A name for the address this process's requests leave from: workers sending from one
    address give the same name, and share one budget."""
    shared: Literal["auto", "process", "database"] = "auto"
    """Where the windows are counted: ``process`` (this process only), ``database`` (a row per
    window and lane in the store, for every worker on it), ``auto`` (the database on
    PostgreSQL)."""
    lanes: BudgetLanesConfig = Field(default_factory=BudgetLanesConfig)
    entry_wait_s: float = Field(default=5.0, ge=0, le=300)
    """The longest an entry waits for the next window; then it is refused, never sent."""
    read_wait_s: float = Field(default=60.0, ge=0, le=600)
    """The longest a read waits (polling never waits: it is skipped and comes again)."""

    @model_validator(mode="before")
    @classmethod
    def _reserves_replaced(cls, data: object) -> object:
        if isinstance(data, dict) and ({"protect_reserve", "read_reserve"} & set(data)):
            raise refusal(
                "venue.budget.protect_reserve and venue.budget.read_reserve were replaced by "
                "venue.budget.lanes (market, protect, reconcile, entry: the share of the limit "
                "each holds for itself); remove them and set the lanes instead."
            )
        return data


class VenueConfig(Section):
    kind: Literal["paper", "ccxt", "solana"] = "paper"
    """``solana``: swaps through bags.fm or Jupiter, settings under ``solana:``."""
    maker_fee: Decimal = Field(default=Decimal("0.001"), ge=0, lt=Decimal("0.05"))
    taker_fee: Decimal = Field(default=Decimal("0.001"), ge=0, lt=Decimal("0.05"))
    slippage_bps: Decimal = Field(default=Decimal("2"), ge=0, le=1000)
    impact_bps: Decimal = Field(default=Decimal("10"), ge=0, le=10000)
    participation: Decimal = Field(default=Decimal("0.10"), gt=0, le=1)
    exchange: str = "binance"
    """``ccxt`` venues: the ccxt exchange id."""
    sandbox: bool = False
    """Use the exchange's testnet (ccxt sandbox mode); ``mode: testnet`` turns it on too."""
    api_url: str | None = None
    """Send every request to this base URL instead (the exchange simulator)."""
    credentials: dict[str, ApiCredentials] = Field(default_factory=dict)
    """API key and secret per account id."""
    accept_unread_key_rights: bool = False
    """Accept a live exchange key whose restrictions (can it withdraw?) could not be read:
    the exchange did not answer them, or publishes none. Off: ``rampart preflight`` fails on
    such a key and ``/connect`` refuses it, since a key that can withdraw would get through.
    Set it only after checking each key by hand on the exchange's API management page."""
    request_timeout_s: float = Field(default=10.0, gt=0, le=120)
    retries: int = Field(default=4, ge=0, le=10)
    """Retries of a request that is safe to repeat, after the first try."""
    rate_limit_ms: float | None = Field(default=None, ge=0)
    """Override ccxt's minimum spacing of requests (its ``rateLimit``) per client."""
    use_order_stream: bool = True
    """The accounts' own orders and fills by websocket (ccxt.pro ``watch_orders``) where the
    exchange offers it; REST polling behind it and for reconciliation. False: polled only."""
    order_stream_poll_s: float = Field(default=60.0, ge=1, le=3600)
    """While an account's stream is open, its orders are still polled this often (a safety
    net), instead of before every candle."""
    follow_every_s: float = Field(default=1.0, ge=0.2, le=60)
    """Between candles, the orders under way (a market entry filling in many trades, an order
    partly filled) are asked about this often, each trade booked and its stop grown then."""
    bracket_mode: Literal["oco", "stop", "monitor"] | None = None
    """How brackets rest on the exchange; by default the best it offers."""
    budget: RequestBudgetConfig = Field(default_factory=RequestBudgetConfig)
    reconcile_concurrency: int = Field(default=16, ge=1, le=64)
    """Accounts opened and reconciled side by side in a process (a start, the shards a worker
    takes, every pass): their reads overlap, their booking does not (docs/operators/scale.md).
    1: one after another."""

    @field_validator("api_url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise refusal(
                f"{value!r} is not a URL: write it with http:// or https://, for example "
                "http://127.0.0.1:8900"
            )
        return value


__all__ = ["ApiCredentials", "RequestBudgetConfig", "VenueConfig"]
