"""The two swap routes: Jupiter's aggregator (swap API v1) and bags.fm (which takes a platform
fee on every swap). Each gives a quote and then the unsigned transaction that executes it, in
the shapes of the services' own SDKs and references (``tests/contracts/``); which route an
order takes is :mod:`~rampart.venues.solana.choice`'s to say."""

from __future__ import annotations

import base64
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

import base58
import httpx
import structlog
from solders.transaction import VersionedTransaction

from rampart.domain.errors import ConfigError, DataError, VenueError
from rampart.venues.solana.observe import NullObserver, SwapObserver
from rampart.venues.solana.settings import (
    ROUTE_LABELS,
    STABLE_MINTS,
    WSOL_MINT,
    PriorityLevel,
    SolanaConfig,
)

log = structlog.get_logger("rampart.venues.solana")
Mode = Literal["ExactIn", "ExactOut"]


@dataclass(frozen=True, slots=True)
class Quote:
    """One route's offer, in base units (integers) of each mint."""

    route: str
    input_mint: str
    output_mint: str
    mode: Mode
    in_amount: int
    out_amount: int
    threshold: int
    """ExactIn: the least output accepted; ExactOut: the most input paid."""
    slippage_bps: int
    platform_fee: int = 0
    platform_fee_mint: str = ""
    raw: dict[str, Any] = field(default_factory=dict, compare=False)


class Route(Protocol):
    name: str
    label: str
    exact_out: bool
    """Whether it quotes an exact output (ExactOut); bags.fm quotes an exact input only."""
    observer: SwapObserver

    async def quote(
        self, input_mint: str, output_mint: str, amount: int, mode: Mode, slippage_bps: int
    ) -> Quote: ...

    async def swap_transaction(
        self, quote: Quote, user_pubkey: str, priority_fee: int
    ) -> tuple[VersionedTransaction, int]: ...


def _int(data: dict[str, Any], key: str) -> int:
    value = data[key]
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValueError(key)
    return int(value)


class _HttpRoute(ABC):
    """Both APIs take their key in the ``x-api-key`` header."""

    name = ""
    label = ""
    exact_out = True

    def __init__(
        self,
        base_url: str,
        client: httpx.AsyncClient,
        api_key: str,
        *,
        timeout_s: float = 5.0,
        observer: SwapObserver | None = None,
        timer: Callable[[], float] = time.perf_counter,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.client = client
        self._api_key = api_key
        self.timeout_s = timeout_s
        self.observer: SwapObserver = observer or NullObserver()
        self.timer = timer

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.base_url!r})"

    def headers(self) -> dict[str, str]:
        return {"x-api-key": self._api_key}

    async def _request(self, method: str, path: str, **kw: Any) -> Any:
        try:
            response = await self.client.request(
                method,
                f"{self.base_url}{path}",
                headers=self.headers(),
                timeout=self.timeout_s,
                **kw,
            )
        except httpx.TimeoutException:
            raise VenueError(f"{self.label} did not answer in time.", "timeout") from None
        except httpx.TransportError:
            raise VenueError(f"{self.label} cannot be reached.", "unreachable") from None
        try:
            body = response.json()
        except ValueError:
            body = None
        status = response.status_code
        if status == 401 or status == 403:
            raise VenueError(f"{self.label} refused the API key.", "auth")
        if status == 429:
            raise VenueError(f"{self.label} is rate limiting us.", "rate_limited")
        if status >= 500:
            raise VenueError(f"{self.label} is failing (HTTP {status}).", "unavailable")
        if status >= 400:
            raise self._refusal(body, status)
        return body

    def _refusal(self, body: Any, status: int) -> VenueError:
        error = body.get("error") if isinstance(body, dict) else None
        code = body.get("errorCode") if isinstance(body, dict) else None
        text = str(error or "").lower()
        if code == "COULD_NOT_FIND_ANY_ROUTE" or "route" in text:
            return VenueError(f"{self.label} found no route for this swap.", "no_route")
        detail = f": {str(error)[:200]}" if error else ""
        return VenueError(f"{self.label} refused the request (HTTP {status}){detail}.", "refused")

    def _payload(self, body: Any, what: str = "a quote") -> Any:
        del what
        return body

    def _fee_mint(self, input_mint: str, output_mint: str, mode: Mode) -> str:
        """The mint a platform fee is taken in (Jupiter: the output of ExactIn, the input of
        ExactOut)."""
        return output_mint if mode == "ExactIn" else input_mint

    def _params(
        self, input_mint: str, output_mint: str, amount: int, mode: Mode, slippage_bps: int
    ) -> dict[str, str]:
        return {
            "inputMint": input_mint,
            "outputMint": output_mint,
            "amount": str(amount),
            "slippageBps": str(slippage_bps),
            "swapMode": mode,
        }

    def _parse(self, data: Any, mode: Mode, slippage_bps: int) -> Quote:
        try:
            if not isinstance(data, dict):
                raise ValueError("not an object")
            fee = data.get("platformFee")
            fee_amount = _int(fee, "amount") if isinstance(fee, dict) else 0
            input_mint, output_mint = str(data["inputMint"]), str(data["outputMint"])
            fee_mint = self._fee_mint(input_mint, output_mint, mode) if fee_amount else ""
            quote = Quote(
                route=self.name,
                input_mint=input_mint,
                output_mint=output_mint,
                mode=mode,
                in_amount=_int(data, "inAmount"),
                out_amount=_int(data, "outAmount"),
                threshold=_int(data, "otherAmountThreshold"),
                slippage_bps=slippage_bps,
                platform_fee=fee_amount,
                platform_fee_mint=fee_mint,
                raw=data,
            )
        except (KeyError, ValueError, TypeError):
            raise DataError(f"{self.label} answered something that is not a quote.") from None
        if min(quote.in_amount, quote.out_amount, quote.threshold) < 0:
            raise DataError(f"{self.label} answered something that is not a quote.")
        return quote

    async def quote(
        self, input_mint: str, output_mint: str, amount: int, mode: Mode, slippage_bps: int
    ) -> Quote:
        params = self._params(input_mint, output_mint, amount, mode, slippage_bps)
        started = self.timer()
        ok = False
        try:
            body = await self._request("GET", self.quote_path, params=params)
            quote = self._parse(self._payload(body), mode, slippage_bps)
            ok = True
            return quote
        finally:
            self.observer.quote(self.name, self.timer() - started, ok)

    quote_path = ""
    swap_path = ""

    def _decode(self, text: str) -> bytes:
        """A serialized transaction as the API encodes it (Jupiter: base64)."""
        return base64.b64decode(text, validate=True)

    @abstractmethod
    def _swap_body(self, quote: Quote, user_pubkey: str, priority_fee: int) -> dict[str, Any]:
        """The swap request's body in the route's own API."""

    async def swap_transaction(
        self, quote: Quote, user_pubkey: str, priority_fee: int
    ) -> tuple[VersionedTransaction, int]:
        """The unsigned transaction for ``quote`` and the block height it is valid until."""
        body = await self._request(
            "POST", self.swap_path, json=self._swap_body(quote, user_pubkey, priority_fee)
        )
        data = self._payload(body, "a swap transaction")
        try:
            tx = VersionedTransaction.from_bytes(self._decode(str(data["swapTransaction"])))
            height = _int(data, "lastValidBlockHeight")
        except (KeyError, ValueError, TypeError):
            raise DataError(
                f"{self.label} answered something that is not a swap transaction."
            ) from None
        return tx, height


class JupiterRoute(_HttpRoute):
    name = "jupiter"
    label = ROUTE_LABELS[name]
    quote_path = "/quote"
    swap_path = "/swap"

    def __init__(
        self,
        base_url: str,
        client: httpx.AsyncClient,
        api_key: str,
        *,
        priority_level: PriorityLevel = "medium",
        **kw: Any,
    ) -> None:
        super().__init__(base_url, client, api_key, **kw)
        self.priority_level = priority_level

    def _swap_body(self, quote: Quote, user_pubkey: str, priority_fee: int) -> dict[str, Any]:
        # The v1 API documents the fee as an object: Jupiter estimates it at the level asked,
        # never above maxLamports (a bare number is the older API's form).
        level = {"priorityLevel": self.priority_level, "maxLamports": priority_fee}
        return {
            "quoteResponse": quote.raw,
            "userPublicKey": user_pubkey,
            "wrapAndUnwrapSol": False,
            "dynamicComputeUnitLimit": True,
            "prioritizationFeeLamports": {"priorityLevelWithMaxLamports": level},
        }


class BagsRoute(_HttpRoute):
    name = "bags"
    label = ROUTE_LABELS[name]
    quote_path = "/trade/quote"
    swap_path = "/trade/swap"
    exact_out = False

    def _params(
        self, input_mint: str, output_mint: str, amount: int, mode: Mode, slippage_bps: int
    ) -> dict[str, str]:
        if mode != "ExactIn":
            # bags.fm has no swap mode: its ``amount`` is always what goes in.
            raise VenueError("bags.fm quotes only an exact input amount.", "unsupported")
        # Its default slippage mode is automatic, which ignores slippageBps.
        return {
            "inputMint": input_mint,
            "outputMint": output_mint,
            "amount": str(amount),
            "slippageMode": "manual",
            "slippageBps": str(slippage_bps),
        }

    def _fee_mint(self, input_mint: str, output_mint: str, mode: Mode) -> str:
        return bags_fee_mint(input_mint, output_mint)

    def _decode(self, text: str) -> bytes:
        # bags.fm's own SDK reads its transactions with bs58.decode.
        return base58.b58decode(text.encode("ascii"))

    def _payload(self, body: Any, what: str = "a quote") -> Any:
        if not isinstance(body, dict) or body.get("success") is not True:
            raise DataError(f"bags.fm answered something that is not {what}.")
        return body.get("response")

    def _swap_body(self, quote: Quote, user_pubkey: str, priority_fee: int) -> dict[str, Any]:
        return {"quoteResponse": quote.raw, "userPublicKey": user_pubkey}

    async def partner_stats(self, partner: str) -> tuple[int, int]:
        """(claimed, unclaimed) lamports of ``partner``'s partner config: bags.fm pays a
        partner on tokens launched with its key (``/fee-share/partner-config/stats``)."""
        body = await self._request(
            "GET", "/fee-share/partner-config/stats", params={"partner": partner}
        )
        data = self._payload(body, "partner fee figures")
        try:
            return _int(data, "claimedFees"), _int(data, "unclaimedFees")
        except (KeyError, ValueError, TypeError):
            raise DataError("bags.fm answered something that is not partner fee figures.") from None

    async def partner_claims(self, partner: str) -> list[tuple[VersionedTransaction, int]]:
        """The unsigned transactions that claim ``partner``'s fees, in the order they must be
        sent (the last one last) with the block height each is valid until
        (``/fee-share/partner-config/claim-tx``)."""
        body = await self._request(
            "POST", "/fee-share/partner-config/claim-tx", json={"partnerWallet": partner}
        )
        data = self._payload(body, "claim transactions")
        try:
            return [
                (
                    VersionedTransaction.from_bytes(self._decode(str(i["transaction"]))),
                    _int(i["blockhash"], "lastValidBlockHeight"),
                )
                for i in data["transactions"]
            ]
        except (KeyError, ValueError, TypeError):
            raise DataError("bags.fm answered something that is not claim transactions.") from None


def bags_fee_mint(input_mint: str, output_mint: str) -> str:
    """The mint bags.fm takes its fee in, as its reference documents it: native SOL when
    either leg is SOL, else a stablecoin when either leg is one, else the input."""
    for preferred in (WSOL_MINT, *STABLE_MINTS):
        if preferred in (input_mint, output_mint):
            return preferred
    return input_mint


def build_routes(
    config: SolanaConfig, http: httpx.AsyncClient, observer: SwapObserver | None = None
) -> dict[str, Route]:
    """The routes the settings list, in their order, each only with its API key."""
    problem = config.route_problem()
    if problem is not None:
        raise ConfigError(problem)
    out: dict[str, Route] = {}
    kw: dict[str, Any] = {"timeout_s": config.request_timeout_s, "observer": observer}
    for name in config.route.routes:
        key = config.route_key(name)
        if key is None:
            log.warning("route_without_key", route=name)
        elif name == "jupiter":
            out[name] = JupiterRoute(
                config.jupiter_url,
                http,
                key.get_secret_value(),
                priority_level=config.priority_level,
                **kw,
            )
        else:
            out[name] = BagsRoute(config.bags_url, http, key.get_secret_value(), **kw)
    return out


__all__ = ["BagsRoute", "JupiterRoute", "Mode", "Quote", "Route", "bags_fee_mint", "build_routes"]
