"""Running the Solana stand-in inside the current event loop, on 127.0.0.1.

async with start_solana_sim(slot_ms=10) as sim:
    sim.fund(str(keypair.pubkey()), lamports=10**9, tokens={"USDC": 1_000 * 10**6})
    rpc = sim.rpc_url("a")                 # any node name; each has its own faults
    sim.add_fault("drop", node="a")
    await sim.advance(3)                   # three slots now (besides the slot timer)
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from aiohttp import web
from solders.keypair import Keypair

from rampart_testkit.solana_sim.chain import Chain
from rampart_testkit.solana_sim.faults import Fault
from rampart_testkit.solana_sim.markets import DEFAULT_MARKETS, build_markets
from rampart_testkit.solana_sim.server import SolanaSimContext, make_app

HOST = "127.0.0.1"


@dataclass
class SolanaSimHandle:
    url: str
    """Base URL, e.g. http://127.0.0.1:54321 (RPC under /rpc/{node}, admin under /sim/)."""
    port: int
    context: SolanaSimContext

    @property
    def chain(self) -> Chain:
        return self.context.chain

    @property
    def api_key(self) -> str:
        """The bags API key (header ``x-api-key``)."""
        return self.context.api_key

    @property
    def jupiter_api_key(self) -> str:
        """Jupiter's API key (header ``x-api-key``)."""
        return self.context.jupiter_key

    @property
    def fee_account(self) -> str:
        """bags.fm's fee account (``platformFee.feeAccount`` of its quotes)."""
        return self.chain.fee_account

    @property
    def jupiter_url(self) -> str:
        return self.url + "/jup/swap/v1"

    @property
    def bags_url(self) -> str:
        return self.url + "/bags/api/v1"

    def rpc_url(self, node: str = "a") -> str:
        return f"{self.url}/rpc/{node}"

    def ws_url(self, node: str = "a") -> str:
        """The node's PubSub websocket (signatureSubscribe)."""
        return f"ws://{HOST}:{self.port}/ws/{node}"

    def mint(self, symbol: str) -> str:
        """The mint address of a token symbol of some market (``"SOL"`` → wrapped SOL)."""
        try:
            return self.chain.resolve_mint(symbol)
        except ValueError:
            raise KeyError(f"no token {symbol} in the stand-in's markets") from None

    def fund(self, pubkey: str, lamports: int = 0, tokens: Mapping[str, int] | None = None) -> None:
        """Add lamports and tokens (by mint or symbol, in base units) to a wallet."""
        self.chain.fund(pubkey, lamports, tokens)

    def transfer(self, pubkey: str, mint: str, amount: int) -> int:
        """Move tokens out of a wallet by hand (negative: in); returns what is left."""
        return self.chain.transfer(pubkey, mint, amount)

    def accrue_partner_fees(self, partner: str, lamports: int) -> None:
        """Fees ``partner``'s partner config earned (on tokens launched with its key)."""
        self.chain.partner_unclaimed[partner] += lamports

    def set_price(self, symbol: str, price: Decimal | str | int | float) -> None:
        self.chain.set_price(symbol, Decimal(str(price)))

    def add_fault(
        self,
        kind: str,
        count: int | None = None,
        node: str | None = None,
        slots: int | None = None,
        retry_after: int = 1,
        bps: int = 300,
        variant: str = "random",
        flap_on: int = 3,
        flap_off: int = 3,
    ) -> Fault:
        return self.context.faults.add(
            kind, count, node, slots, retry_after, bps, variant, flap_on, flap_off
        )

    def clear_faults(self) -> None:
        self.context.faults.clear()

    def state(self) -> dict[str, Any]:
        return self.context.state()

    def balance(self, pubkey: str, mint: str) -> int:
        wallet = self.chain.wallets.get(pubkey)
        return wallet.tokens.get(self.chain.resolve_mint(mint), 0) if wallet else 0

    def lamports(self, pubkey: str) -> int:
        wallet = self.chain.wallets.get(pubkey)
        return wallet.lamports if wallet else 0

    async def advance(self, slots: int = 1) -> int:
        """Move the chain on ``slots`` slots now; returns the new slot."""
        return self.chain.advance(slots)


def build_chain(
    *,
    markets: Mapping[str, Decimal | str | int | float] | None = None,
    depth: Mapping[str, Decimal | int | str] | None = None,
    pool_fee_bps: int = 25,
    bags_fee_bps: int = 100,
    confirm_slots: int = 1,
    slot_ms: int = 400,
    fee_account: str | None = None,
    seed: int = 0,
    clock: Callable[[], int] | None = None,
) -> Chain:
    prices = {k: Decimal(str(v)) for k, v in (markets or DEFAULT_MARKETS).items()}
    return Chain(
        build_markets(prices),
        depth=depth,
        pool_fee_bps=pool_fee_bps,
        bags_fee_bps=bags_fee_bps,
        confirm_slots=confirm_slots,
        fee_account=fee_account or str(Keypair().pubkey()),
        start_unix=int(time.time()),
        slot_ms=slot_ms,
        seed=seed,
        clock=clock,
    )


@asynccontextmanager
async def serve(context: SolanaSimContext, *, port: int = 0) -> AsyncIterator[SolanaSimHandle]:
    runner = web.AppRunner(make_app(context), access_log=None, handle_signals=False)
    await runner.setup()
    try:
        site = web.TCPSite(runner, HOST, port)
        await site.start()
        bound = next(int(a[1]) for a in runner.addresses if isinstance(a, tuple))
        yield SolanaSimHandle(f"http://{HOST}:{bound}", bound, context)
    finally:
        await runner.cleanup()


@asynccontextmanager
async def start_solana_sim(
    *,
    markets: Mapping[str, Decimal | str | int | float] | None = None,
    slot_ms: int = 400,
    depth: Mapping[str, Decimal | int | str] | None = None,
    pool_fee_bps: int = 25,
    bags_fee_bps: int = 100,
    confirm_slots: int = 1,
    api_key: str | None = None,
    jupiter_api_key: str | None = None,
    fee_account: str | None = None,
    port: int = 0,
    seed: int = 0,
    wallets: Sequence[Mapping[str, Any]] = (),
    clock: Callable[[], int] | None = None,
) -> AsyncIterator[SolanaSimHandle]:
    """Serve a fresh stand-in on 127.0.0.1 (port 0: any free port) until exit.

    ``markets`` maps ``"SOL/USDC"`` to a price (default SOL/USDC, BONK/USDC, JUP/USDC);
    ``depth`` maps a route to the quote tokens on each side of its pools; ``slot_ms`` 0
    stops the slot timer (slots then move only on ``advance``). ``wallets`` are funded
    first, each ``{"pubkey", "lamports", "tokens": {mint or symbol: base units}}``.
    ``clock`` (UTC ms) is the market's time when it is simulated: block times are read from
    it, so fills carry the same time axis as the candles.
    """
    chain = build_chain(
        markets=markets,
        depth=depth,
        pool_fee_bps=pool_fee_bps,
        bags_fee_bps=bags_fee_bps,
        confirm_slots=confirm_slots,
        slot_ms=slot_ms,
        fee_account=fee_account,
        seed=seed,
        clock=clock,
    )
    context = SolanaSimContext(chain, slot_ms=slot_ms)
    if api_key is not None:
        context.api_key = api_key
    if jupiter_api_key is not None:
        context.jupiter_key = jupiter_api_key
    async with serve(context, port=port) as handle:
        for spec in wallets:
            handle.fund(str(spec["pubkey"]), int(spec.get("lamports", 0)), spec.get("tokens"))
        yield handle
