"""The two swap routes: Jupiter's aggregator and bags.fm (which takes a platform fee, part of
it for the operator as partner). Each gives a quote and then the unsigned transaction that
executes it; :func:`choose` picks one by the tolerance rule."""

from __future__ import annotations

import base64
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

import httpx
from solders.transaction import VersionedTransaction

from rampart.domain.errors import ConfigError, DataError, VenueError
from rampart.venues.solana.observe import NullObserver, SwapObserver
from rampart.venues.solana.settings import SolanaConfig

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
    name = ""
    label = ""

    def __init__(
        self,
        base_url: str,
        client: httpx.AsyncClient,
        *,
        timeout_s: float = 5.0,
        observer: SwapObserver | None = None,
        timer: Callable[[], float] = time.perf_counter,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.client = client
        self.timeout_s = timeout_s
        self.observer: SwapObserver = observer or NullObserver()
        self.timer = timer

    def headers(self) -> dict[str, str]:
        return {}

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

    def _parse(self, data: Any, mode: Mode, slippage_bps: int) -> Quote:
        try:
            if not isinstance(data, dict):
                raise ValueError("not an object")
            fee = data.get("platformFee")
            fee_amount = _int(fee, "amount") if isinstance(fee, dict) else 0
            input_mint, output_mint = str(data["inputMint"]), str(data["outputMint"])
            # bags.fm takes its fee on the quote leg: the input of a buy, the output of a sell.
            fee_mint = (input_mint if mode == "ExactOut" else output_mint) if fee_amount else ""
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
        params = {
            "inputMint": input_mint,
            "outputMint": output_mint,
            "amount": str(amount),
            "slippageBps": str(slippage_bps),
            "swapMode": mode,
        }
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
            raw = base64.b64decode(str(data["swapTransaction"]), validate=True)
            tx = VersionedTransaction.from_bytes(raw)
            height = _int(data, "lastValidBlockHeight")
        except (KeyError, ValueError, TypeError):
            raise DataError(
                f"{self.label} answered something that is not a swap transaction."
            ) from None
        return tx, height


class JupiterRoute(_HttpRoute):
    name = "jupiter"
    label = "Jupiter"
    quote_path = "/quote"
    swap_path = "/swap"

    def _swap_body(self, quote: Quote, user_pubkey: str, priority_fee: int) -> dict[str, Any]:
        return {
            "quoteResponse": quote.raw,
            "userPublicKey": user_pubkey,
            "wrapAndUnwrapSol": False,
            "prioritizationFeeLamports": priority_fee,
        }


class BagsRoute(_HttpRoute):
    name = "bags"
    label = "bags.fm"
    quote_path = "/trade/quote"
    swap_path = "/trade/swap"

    def __init__(self, base_url: str, client: httpx.AsyncClient, api_key: str, **kw: Any) -> None:
        super().__init__(base_url, client, **kw)
        self._api_key = api_key

    def __repr__(self) -> str:
        return f"BagsRoute({self.base_url!r})"

    def headers(self) -> dict[str, str]:
        return {"x-api-key": self._api_key}

    def _payload(self, body: Any, what: str = "a quote") -> Any:
        if not isinstance(body, dict) or body.get("success") is not True:
            raise DataError(f"bags.fm answered something that is not {what}.")
        return body.get("response")

    def _swap_body(self, quote: Quote, user_pubkey: str, priority_fee: int) -> dict[str, Any]:
        return {"quoteResponse": quote.raw, "userPublicKey": user_pubkey}


def better(a: Quote, b: Quote) -> bool:
    """Whether ``a`` is a better deal than ``b`` (more out for ExactIn, less in for ExactOut)."""
    if a.mode == "ExactIn":
        return a.out_amount > b.out_amount
    return a.in_amount < b.in_amount


def choose(quotes: Sequence[Quote], tolerance_bps: int) -> Quote:
    """bags.fm when its effective output is within ``tolerance_bps`` of the best quote's (it
    pays the operator a share of its fee), else the best quote."""
    if not quotes:
        raise VenueError("No route gave a quote for this swap.", "no_quote")
    best = quotes[0]
    for q in quotes[1:]:
        if better(q, best):
            best = q
    bags = next((q for q in quotes if q.route == "bags"), None)
    if bags is None or bags is best:
        return best
    if best.mode == "ExactIn":
        # bags.out >= best.out × (1 − tol), in integers.
        ok = bags.out_amount * 10_000 >= best.out_amount * (10_000 - tolerance_bps)
    else:
        ok = bags.in_amount * 10_000 <= best.in_amount * (10_000 + tolerance_bps)
    return bags if ok else best


def build_routes(
    config: SolanaConfig, http: httpx.AsyncClient, observer: SwapObserver | None = None
) -> dict[str, Route]:
    """The routes the settings list, in their order: bags.fm only with an API key."""
    out: dict[str, Route] = {}
    kw: dict[str, Any] = {"timeout_s": config.request_timeout_s, "observer": observer}
    for name in config.route.routes:
        if name == "jupiter":
            out[name] = JupiterRoute(config.jupiter_url, http, **kw)
        elif config.bags_api_key is not None:
            key = config.bags_api_key.get_secret_value()
            out[name] = BagsRoute(config.bags_url, http, key, **kw)
    if not out:
        raise ConfigError("The solana venue has no route: set solana.bags_api_key or list jupiter.")
    return out


__all__ = [
    "BagsRoute",
    "JupiterRoute",
    "Mode",
    "Quote",
    "Route",
    "better",
    "build_routes",
    "choose",
]
