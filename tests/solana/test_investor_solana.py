"""An investor on a service whose venue is Solana trades with their own wallet, end to end:
the real python-telegram-bot against the local Bot API stand-in, the real SolanaVenue over the
Solana stand-in, on a TradingSession opened (and reopened) on one SQLite file.

/start → /connect solana → /invest: the capital is the wallet's USDC (a wallet holding more
than /invest names is refused, as on an exchange), native SOL is gas and a wallet short of it
is refused; an order the engine places is a swap signed with the investor's wallet; a restart
connects the wallet back before the checkpoint loads; /disconnect keeps a funded wallet and
forgets an empty one.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path
from typing import Any

from solders.keypair import Keypair

from rampart.config import load_settings
from rampart.domain.candles import Candle
from rampart.domain.fills import Balance
from rampart.domain.instruments import Instrument
from rampart.observability.logging import configure_logging
from rampart.operator import investors as inv_store
from rampart.operator.investors import restore_investor_accounts
from rampart.operator.routing import beyond_dust, exchange_backed, venue_name
from rampart.security.credential_store import load_credentials
from rampart.security.secrets import generate_key, load_key_box
from rampart.wiring.session import TradingSession
from rampart.wiring.solana import solana_venue_of
from rampart_testkit.solana_sim import SolanaSimHandle, start_solana_sim
from tests.telegram.conftest import ALICE, BOB, OPERATOR, TOKEN, TgService

SYMBOLS = ["SOL/USDC"]
SOL_MINT = "So11111111111111111111111111111111111111112"
USDC_MINT = "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v"
CAROL = 103
MINUTE = 60_000
SOL_LAMPORTS = 10**9
USDC_UNITS = 10**6


class SolanaTgService(TgService):
    """:class:`TgService` on ``venue.kind: solana`` pointed at the stand-in; its candles are
    SOL/USDC at the pools' price, and it restores investor accounts as the service does."""

    def __init__(
        self, tmp_path: Path, sim: SolanaSimHandle, master_key: str, start_ms: int
    ) -> None:
        super().__init__(tmp_path)
        self.sim = sim
        self.next_ms = start_ms
        self.settings = load_settings(
            store={"url": f"sqlite:///{self.db_path}", "checkpoint_every": 10**6},
            feed={"symbols": SYMBOLS},
            accounts=[],
            telegram_token=TOKEN,
            master_key=master_key,
            telegram={
                "operator_ids": [OPERATOR],
                "operator_chat_id": OPERATOR,
                "rate_per_minute": 1000,
                "poll_timeout_s": 1,
            },
            venue={"kind": "solana"},
            solana={
                "rpc_urls": [sim.rpc_url("a"), sim.rpc_url("b")],
                "jupiter_url": sim.jupiter_url,
                "jupiter_api_key": sim.jupiter_api_key,
                "bags_url": sim.bags_url,
                "bags_api_key": sim.api_key,
                "confirm_poll_s": 0.02,
                "confirm_timeout_s": 20,
                "request_timeout_s": 5,
                # The stand-in runs SOL/USDC only; the venue opens accounts on every market.
                "markets": {"SOL/USDC": {"base_mint": SOL_MINT, "quote_mint": USDC_MINT}},
            },
        )
        self.restored: list[str] = []

    async def __aenter__(self) -> SolanaTgService:
        configure_logging("info", "json", self.log_path)
        await self.api.start()
        s = self.settings
        self.session = TradingSession(
            s,
            self.clock,
            {},
            db_url=s.store.url,
            checkpoint_name="run",
            accounts=[],
            checkpoint_every=s.store.checkpoint_every,
        )
        await self.venue.load(SYMBOLS)  # as the service does: the markets, read from chain
        await self.session.open()
        # As the service does: investor accounts (their wallets first), then the checkpoint.
        self.restored = await restore_investor_accounts(self.session)
        self.session.finish_resume()
        await self.start_bot(SYMBOLS)
        await self.trade(30)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await super().__aexit__(*exc)
        await self.venue.aclose()

    @property
    def venue(self) -> Any:
        chain = solana_venue_of(self.session.engine.venue)
        assert chain is not None
        return chain

    async def trade(self, n: int) -> None:
        """``n`` flat SOL/USDC candles at 150 (the pools' price), then a checkpoint."""
        for _ in range(n):
            ts = self.next_ms
            self.next_ms += MINUTE
            candle = Candle("SOL/USDC", ts, 150.0, 150.3, 149.7, 150.0, 1000.0)
            self.clock.set(candle.close_ts)
            async with self.lock:
                await self.session.process(candle)
        self.session.checkpoint()

    async def connect_wallet(self, uid: int, keypair: Keypair) -> str:
        await self.send(uid, "/start")
        await self.press(uid, "I accept")
        await self.send(uid, "/connect solana")
        return (await self.send(uid, str(keypair)))[-1]


def _wallet(sim: SolanaSimHandle, lamports: int, usdc: int) -> Keypair:
    keypair = Keypair()
    sim.fund(str(keypair.pubkey()), lamports=lamports, tokens={"USDC": usdc * USDC_UNITS})
    return keypair


def test_an_investor_trades_on_solana_with_their_own_wallet(tmp_path: Path) -> None:
    master_key = generate_key()

    async def scenario() -> None:
        async with start_solana_sim(slot_ms=10, markets={"SOL/USDC": 150}) as sim:
            alice = _wallet(sim, SOL_LAMPORTS // 10, 400)  # 0.1 SOL of gas, 400 USDC
            bob = _wallet(sim, SOL_LAMPORTS // 200, 100)  # 0.005 SOL: too little for fees
            alice_pk = str(alice.pubkey())
            async with SolanaTgService(tmp_path, sim, master_key, 0) as svc:
                assert exchange_backed(svc.settings) and venue_name(svc.settings) == "solana"
                assert "/connect solana" in (await svc.send(ALICE, "/help"))[-1]
                await svc.send(CAROL, "/start")
                await svc.press(CAROL, "I accept")
                # No paper accounts beside the chain, and nothing starts without a wallet.
                paper = (await svc.send(CAROL, "/connect paper"))[-1]
                assert "not possible here" in paper and "/connect solana" in paper, paper
                assert "/connect solana" in (await svc.send(CAROL, "/invest 300"))[-1]
                wrong = (await svc.send(CAROL, "/connect binance"))[-1]
                assert "trades on solana; /connect solana" in wrong, wrong

                saved = await svc.connect_wallet(ALICE, alice)
                assert alice_pk in saved and "/invest AMOUNT starts trading" in saved, saved
                # 400 USDC in the wallet: investing 300 of it is refused, as on an exchange.
                more = (await svc.send(ALICE, "/invest 300"))[-1]
                assert "holds 400.00 USDC, more than the 300.00 USDC" in more, more
                assert "tg-101" not in svc.session.engine.accounts
                assert svc.venue.wallet_address("tg-101") is None  # nothing left connected
                started = (await svc.send(ALICE, "/invest 400"))[-1]
                assert "Investing 400.00 USDC" in started and "own wallet" in started, started
                acct = svc.session.engine.accounts["tg-101"]
                # The USDC is the capital; the 0.1 SOL of gas is not.
                assert acct.ledger.capital == Decimal(400)
                assert svc.venue.wallet_address("tg-101") == alice_pk

                # Too little SOL for network fees: refused, saying how much it needs.
                await svc.connect_wallet(BOB, bob)
                short = (await svc.send(BOB, "/invest 100"))[-1]
                assert "0.005 SOL for network fees" in short, short
                assert "at least 0.01 SOL" in short and str(bob.pubkey()) in short, short
                assert "tg-102" not in svc.session.engine.accounts
                assert svc.venue.wallet_address("tg-102") is None

                # An order the engine places for Alice is a swap signed with her wallet.
                await svc.send(ALICE, "/vibe long SOL, tight stop, 2% target")
                answers = await svc.press(ALICE, "Confirm")
                assert any("Order placed" in t for t in answers), answers
                await svc.until(lambda: "SOL/USDC" in acct.ledger.positions)
                bought = acct.ledger.positions["SOL/USDC"].qty
                assert sim.balance(alice_pk, "SOL") == int(bought * SOL_LAMPORTS) > 0
                assert sim.balance(alice_pk, "USDC") < 400 * USDC_UNITS
                await svc.trade(2)

            # A restart: her wallet is connected back before the checkpoint loads.
            async with SolanaTgService(tmp_path, sim, master_key, svc.next_ms) as svc:
                assert svc.restored == ["tg-101"]
                assert svc.venue.wallet_address("tg-101") == alice_pk
                assert svc.venue.wallet_address("tg-102") is None  # never started
                acct = svc.session.engine.accounts["tg-101"]
                assert acct.ledger.capital == Decimal(400)
                assert acct.ledger.positions["SOL/USDC"].qty == bought

                # /disconnect keeps a wallet holding money: its key here may be the only copy.
                box = load_key_box(svc.settings.master_key, svc.settings.vault)
                kept = (await svc.send(ALICE, "/disconnect"))[-1]
                assert f"Your Solana wallet {alice_pk} still holds" in kept, kept
                assert "USDC" in kept and "rampart wallet export" in kept, kept
                assert "tg-101" in svc.session.engine.accounts
                assert svc.venue.wallet_address("tg-101") == alice_pk
                assert load_credentials(svc.session.db, box, "tg-101") is not None
                # Bob's wallet holds money too, though his account never started.
                assert "still holds" in (await svc.send(BOB, "/disconnect"))[-1]
                assert load_credentials(svc.session.db, box, "tg-102") is not None
                assert svc.venue.wallet_address("tg-102") is None  # looked at, let go

                # An empty wallet (made here, never funded) is forgotten like a key.
                await svc.send(CAROL, "/connect solana")
                await svc.press(CAROL, "Create")
                assert load_credentials(svc.session.db, box, "tg-103") is not None
                gone = (await svc.send(CAROL, "/disconnect"))[-1]
                assert "Your Solana wallet is forgotten" in gone, gone
                assert load_credentials(svc.session.db, box, "tg-103") is None
                carol = await inv_store.load(svc.session.db, CAROL)
                assert carol is not None and carol.mode == ""

    asyncio.run(scenario())


class _Markets:
    def instrument(self, symbol: str) -> Instrument:
        lot = Decimal("0.000000001")
        return Instrument(symbol, "SOL", "USDC", Decimal("0.000001"), lot, lot, Decimal(1))


def test_dust_is_less_than_a_cent_of_usdc_or_a_rent_of_sol() -> None:
    def held(**amounts: str) -> list[str]:
        balances = {
            k.replace("_", "."): Balance(k.replace("_", "."), Decimal(v))
            for k, v in amounts.items()
        }
        return beyond_dust(_Markets(), balances, SYMBOLS)  # type: ignore[arg-type]

    assert held(SOL_gas="0.0009", USDC="0.009", SOL="0") == []
    assert held(SOL_gas="0.001") == ["0.001 SOL for fees"]
    assert held(USDC="0.01", SOL="0.000000001") == ["0.000000001 SOL", "0.01 USDC"]
    assert held(BONKMINT="0.00001") == ["0.00001 BONKMINT"]  # a token no market names
