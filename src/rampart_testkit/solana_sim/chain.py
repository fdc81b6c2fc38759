"""The stand-in's one chain: slots, blockhashes, wallets, pools, swap tickets, transactions.

Every RPC node and both swap routes share it. Time moves only through :meth:`Chain.advance`
(the server's slot timer, ``/sim/advance`` or a handle's ``advance``); a transaction lands at
the slot after it was sent (later with a slow-confirmation fault) and is priced again then.
"""

from __future__ import annotations

import hashlib
import itertools
from collections import Counter
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from solders.hash import Hash

from rampart_testkit.solana_sim.ledger import (
    INSUFFICIENT_ERR,
    LAMPORTS_PER_SIGNATURE,
    SLIPPAGE_ERR,
    VALID_SLOTS,
    RpcError,
    SimTx,
    Ticket,
    TxFaults,
    Wallet,
)
from rampart_testkit.solana_sim.markets import (
    BAGS_PROGRAM,
    CLAIM_PROGRAM,
    JUPITER_PROGRAM,
    SYSTEM_PROGRAM,
    TOKEN_PROGRAM,
    WSOL_MINT,
    Market,
)
from rampart_testkit.solana_sim.pools import BPS, Pool, pool_for
from rampart_testkit.solana_sim.quotes import QuoteError, price_bags, price_swap
from rampart_testkit.solana_sim.txbuild import SignedSwap, build_swap_tx

ROUTES = ("jupiter", "bags")
PROGRAMS = {"jupiter": JUPITER_PROGRAM, "bags": BAGS_PROGRAM, "claim": CLAIM_PROGRAM}
"""A wrap of native SOL (route ``wrap``) runs no swap program: system and token programs only."""
DEFAULT_DEPTH = {"jupiter": Decimal(1_000_000), "bags": Decimal(5_000_000)}
"""Quote-currency tokens on each side of each market's pool. Bags is the deeper one so that
either route can win: Jupiter on small orders (no platform fee), bags on large ones."""
FIRST_SLOT = 1000
BLOCKHASH_EXPIRED = "Transaction simulation failed: Blockhash not found"


class Chain:
    def __init__(
        self,
        markets: Mapping[str, Market],
        *,
        depth: Mapping[str, Decimal | int | str] | None = None,
        pool_fee_bps: int = 25,
        bags_fee_bps: int = 100,
        confirm_slots: int = 1,
        fee_account: str = "",
        start_unix: int = 1_700_000_000,
        slot_ms: int = 400,
        seed: int = 0,
        clock: Callable[[], int] | None = None,
    ) -> None:
        self.markets = dict(markets)
        depths = {**DEFAULT_DEPTH, **{k: Decimal(str(v)) for k, v in (depth or {}).items()}}
        self.pools: dict[str, dict[str, Pool]] = {
            sym: {
                route: pool_for(
                    m.price, depths[route], m.base.decimals, m.quote.decimals, pool_fee_bps
                )
                for route in ROUTES
            }
            for sym, m in self.markets.items()
        }
        self.bags_fee_bps = bags_fee_bps
        self.confirm_slots = confirm_slots
        self.fee_account = fee_account  # bags.fm's (``platformFee.feeAccount`` of its quotes)
        self.start_unix = start_unix
        self.slot_ms = max(slot_ms, 1)
        self.clock = clock
        """UTC ms of the market the stand-in serves (a soak's or test's simulated time): a
        landed transaction's block time is read from it; without one, slots tell the time."""
        self.seed = seed
        self.slot = FIRST_SLOT
        self._hash_slot: dict[str, int] = {}
        self._slot_hash: dict[int, str] = {}
        self.wallets: dict[str, Wallet] = {}
        self.tickets: dict[str, Ticket] = {}
        self.txs: dict[str, SimTx] = {}
        self._pending: list[SimTx] = []
        self.platform_fees: Counter[str] = Counter()
        """Fee mint → bags.fm's platform fees taken, in base units of that mint."""
        self.partner_unclaimed: Counter[str] = Counter()
        """Partner wallet → lamports its partner config has earned and not claimed (bags.fm
        pays partners on tokens launched with their partner key, not on swaps)."""
        self.partner_claimed: Counter[str] = Counter()
        self._ids = itertools.count(1)
        self.on_advance: list[Callable[[], None]] = []  # the pubsub nodes' notifications
        self._blockhash(self.slot)

    # -- slots and blockhashes ------------------------------------------------------------

    def _blockhash(self, slot: int) -> str:
        known = self._slot_hash.get(slot)
        if known is None:
            digest = hashlib.sha256(f"rampart-sim:{self.seed}:{slot}".encode()).digest()
            known = str(Hash(digest))
            self._slot_hash[slot] = known
            self._hash_slot[known] = slot
        return known

    def latest_blockhash(self, view_slot: int | None = None) -> tuple[str, int]:
        """(blockhash, lastValidBlockHeight) as seen at ``view_slot`` (block height == slot)."""
        slot = self.slot if view_slot is None else min(view_slot, self.slot)
        return self._blockhash(slot), slot + VALID_SLOTS

    def _forget_blockhashes(self, before: int) -> None:
        """Keep memory flat on a fast slot timer: hashes this old have long expired (a
        lagging node asking for one again gets it made anew)."""
        for slot in [s for s in self._slot_hash if s < before]:
            self._hash_slot.pop(self._slot_hash.pop(slot), None)

    def blockhash_valid(self, blockhash: str) -> bool:
        made = self._hash_slot.get(blockhash)
        return made is not None and self.slot <= made + VALID_SLOTS

    def block_time(self, slot: int) -> int:
        return self.start_unix + (slot - FIRST_SLOT) * self.slot_ms // 1000

    def tx_time(self, tx: SimTx) -> int:
        """A landed transaction's ``blockTime`` (unix seconds)."""
        if tx.landed_ms is not None:
            return tx.landed_ms // 1000
        return self.block_time(tx.landed_slot if tx.landed_slot is not None else self.slot)

    def advance(self, slots: int = 1) -> int:
        """Move the chain on ``slots`` slots, landing what is due at each; returns the slot."""
        for _ in range(max(slots, 0)):
            self.slot += 1
            self._blockhash(self.slot)
            if self.slot % 256 == 0:
                self._forget_blockhashes(self.slot - 4 * VALID_SLOTS)
            due = [tx for tx in self._pending if tx.land_slot <= self.slot]
            self._pending = [tx for tx in self._pending if tx.land_slot > self.slot]
            for tx in due:
                self._land(tx)
        for notify in self.on_advance:
            notify()
        return self.slot

    # -- wallets --------------------------------------------------------------------------

    def wallet(self, pubkey: str) -> Wallet:
        return self.wallets.setdefault(pubkey, Wallet())

    def known_mint(self, mint: str) -> tuple[str, int] | None:
        """(symbol, decimals) of a mint of some market."""
        for m in self.markets.values():
            for token in (m.base, m.quote):
                if token.address == mint:
                    return token.symbol, token.decimals
        return None

    def mint_program(self, mint: str) -> str:
        """The token program that owns ``mint`` (classic SPL Token or Token-2022)."""
        for m in self.markets.values():
            for token in (m.base, m.quote):
                if token.address == mint:
                    return token.program
        return TOKEN_PROGRAM

    def resolve_mint(self, key: str) -> str:
        """A mint address given as itself or as the symbol of a market's token."""
        if self.known_mint(key) is not None:
            return key
        for m in self.markets.values():
            for token in (m.base, m.quote):
                if token.symbol == key:
                    return token.address
        raise ValueError(f"{key} is not the mint or symbol of any market's token")

    def fund(self, pubkey: str, lamports: int = 0, tokens: Mapping[str, int] | None = None) -> None:
        """Add lamports and tokens (mint or symbol → base units) to a wallet."""
        if lamports < 0:
            raise ValueError("lamports must be zero or more")
        resolved = {self.resolve_mint(k): int(v) for k, v in (tokens or {}).items()}
        w = self.wallet(pubkey)
        w.lamports += int(lamports)
        for mint, amount in resolved.items():
            w.tokens[mint] = w.tokens.get(mint, 0) + amount

    def transfer(self, pubkey: str, mint: str, amount: int) -> int:
        """Move ``amount`` out of a wallet by hand (negative: a deposit); returns the rest."""
        mint = self.resolve_mint(mint)
        w = self.wallet(pubkey)
        left = w.tokens.get(mint, 0) - int(amount)
        if left < 0:
            raise ValueError(f"the wallet holds only {w.tokens.get(mint, 0)} of {mint}")
        w.tokens[mint] = left
        return left

    def set_price(self, symbol: str, price: Decimal) -> None:
        market = self.markets.get(symbol)
        if market is None:
            raise ValueError(f"no market {symbol}")
        if price <= 0:
            raise ValueError("the price must be positive")
        units = price * Decimal(10) ** market.quote.decimals / Decimal(10) ** market.base.decimals
        for pool in self.pools[symbol].values():
            pool.set_price(units)

    # -- swaps ----------------------------------------------------------------------------

    def platform_bps(self, route: str) -> int:
        return self.bags_fee_bps if route == "bags" else 0

    def make_ticket(
        self,
        *,
        route: str,
        market: Market,
        base_in: bool,
        mode: str,
        quoted_in: int,
        quoted_out: int,
        threshold: int,
        user: str,
        priority_fee: int,
    ) -> tuple[Ticket, str, int]:
        """A ticket for a quote the user accepted, and its unsigned transaction (base64) and
        lastValidBlockHeight."""
        ticket = Ticket(
            id=f"{route[0]}q{next(self._ids)}",
            route=route,
            symbol=market.symbol,
            user=user,
            base_in=base_in,
            input_mint=(market.base if base_in else market.quote).address,
            output_mint=(market.quote if base_in else market.base).address,
            mode=mode,
            amount=quoted_in if mode == "ExactIn" else quoted_out,
            quoted_in=quoted_in,
            quoted_out=quoted_out,
            threshold=threshold,
            platform_bps=self.platform_bps(route),
            priority_fee=max(priority_fee, 0),
        )
        self.tickets[ticket.id] = ticket
        blockhash, last_valid = self.latest_blockhash()
        tx = build_swap_tx(
            user=user,
            program=PROGRAMS[route],
            ticket_id=ticket.id,
            input_mint=ticket.input_mint,
            output_mint=ticket.output_mint,
            blockhash=blockhash,
            priority_fee=ticket.priority_fee,
        )
        return ticket, tx, last_valid

    def make_claim(self, partner: str) -> tuple[str, int]:
        """The transaction claiming ``partner``'s unclaimed fees (base64) and its
        lastValidBlockHeight."""
        amount = self.partner_unclaimed[partner]
        ticket = Ticket(
            f"c{next(self._ids)}", "claim", "", partner, False, WSOL_MINT, WSOL_MINT, "ExactIn",
            amount, amount, amount, 0, 0, 0,
        )  # fmt: skip
        self.tickets[ticket.id] = ticket
        blockhash, last_valid = self.latest_blockhash()
        tx = build_swap_tx(
            user=partner,
            program=CLAIM_PROGRAM,
            ticket_id=ticket.id,
            input_mint=WSOL_MINT,
            output_mint=WSOL_MINT,
            blockhash=blockhash,
            priority_fee=0,
        )
        return tx, last_valid

    def _wrap_ticket(self, swap: SignedSwap) -> Ticket | None:
        """A wrap of native SOL into the signer's wrapped-SOL account, as a ticket."""
        if swap.program is not None or swap.wrap_lamports is None:
            return None
        lamports = swap.wrap_lamports
        return Ticket(
            f"w{swap.signature[:16]}", "wrap", "", swap.signer, False, SYSTEM_PROGRAM, WSOL_MINT,
            "ExactIn", lamports, lamports, lamports, 0, 0, swap.priority_fee,
        )  # fmt: skip

    def _check(self, swap: SignedSwap) -> tuple[Ticket, int]:
        """The ticket and fee of a swap a node would accept, or the RPC error it gives."""
        if not swap.verified:
            raise RpcError(-32003, "Transaction signature verification failure")
        ticket = self.tickets.get(swap.ticket_id or "") or self._wrap_ticket(swap)
        if ticket is None or PROGRAMS.get(ticket.route) != swap.program:
            raise RpcError(-32002, "Transaction simulation failed: unknown swap ticket")
        if swap.signer != ticket.user:
            raise RpcError(-32003, "Transaction signature verification failure")
        if not self.blockhash_valid(swap.blockhash):
            raise RpcError(-32002, BLOCKHASH_EXPIRED)
        fee = LAMPORTS_PER_SIGNATURE * swap.num_signatures + swap.priority_fee
        if self.wallet(swap.signer).lamports < fee:
            raise RpcError(
                -32002,
                "Transaction simulation failed: Attempt to debit an account but found no "
                "record of a prior credit.",
            )
        return ticket, fee

    def acceptable(self, swap: SignedSwap) -> bool:
        """Whether ``swap`` is new and would be accepted (faults are spent only on those)."""
        if swap.signature in self.txs:
            return False
        try:
            self._check(swap)
        except RpcError:
            return False
        return True

    def submit(self, swap: SignedSwap, node: str, faults: TxFaults) -> str:
        """Accept a signed swap (sendTransaction), or raise the RPC error a node would give."""
        known = self.txs.get(swap.signature) if swap.verified else None
        if known is not None:
            # A resend: the same transaction, never executed twice; one lost on its way is on
            # its way again while its blockhash lives (a rebroadcast is how clients land them).
            revive = known.dropped and known.landed_slot is None and not known.faults.never_lands
            if revive and self.blockhash_valid(known.blockhash):
                known.dropped = known.gone = False
                known.land_slot = self.slot + 1 + known.faults.delay_slots
                self._pending.append(known)
            return swap.signature
        ticket, fee = self._check(swap)
        tx = SimTx(
            signature=swap.signature,
            ticket=ticket,
            node=node,
            sent_slot=self.slot,
            land_slot=self.slot + 1 + faults.delay_slots,
            blockhash=swap.blockhash,
            last_valid_height=self._hash_slot[swap.blockhash] + VALID_SLOTS,
            fee_lamports=fee,
            num_signatures=swap.num_signatures,
            account_keys=swap.account_keys,
            message=swap.message,
            faults=faults,
            gone=faults.never_lands or faults.dropped,
            dropped=faults.dropped,
        )
        self.txs[tx.signature] = tx
        if not tx.gone:
            self._pending.append(tx)
        return tx.signature

    def _land(self, tx: SimTx) -> None:
        wallet = self.wallet(tx.ticket.user)
        if self.slot > tx.last_valid_height or wallet.lamports < tx.fee_lamports:
            tx.gone = True  # its blockhash expired on the way, or it cannot pay: never lands
            return
        t = tx.ticket
        mints = (WSOL_MINT,) if t.route == "wrap" else (t.input_mint, t.output_mint)
        tx.pre_lamports = wallet.lamports
        tx.pre_tokens = {m: wallet.tokens.get(m, 0) for m in mints}
        wallet.lamports -= tx.fee_lamports
        tx.landed_slot = self.slot
        tx.landed_ms = self.clock() if self.clock is not None else None
        if t.route in ("wrap", "claim"):
            if t.route == "wrap":
                self._land_wrap(tx, wallet)
            else:
                self._land_claim(tx, wallet)
            tx.post_lamports = wallet.lamports
            tx.post_tokens = {m: wallet.tokens.get(m, 0) for m in mints}
            return
        program = PROGRAMS[t.route]
        tx.logs = [f"Program {program} invoke [1]", "Program log: Instruction: Route"]
        pool = self.pools[t.symbol][t.route]
        if tx.faults.slippage_bps:
            # someone else's trade moved the pool against this swap just before it
            factor = Decimal(BPS + (-1 if t.base_in else 1) * tx.faults.slippage_bps) / BPS
            pool.set_price(pool.spot() * factor)
        try:
            if t.route == "bags":
                market = self.markets[t.symbol]
                priced = price_bags(pool, market, t.base_in, t.amount, t.platform_bps)
            else:
                priced = price_swap(pool, t.base_in, t.mode, t.amount)
            beyond = (
                priced.out_amount < t.threshold
                if t.mode == "ExactIn"
                else priced.in_amount > t.threshold
            )
        except QuoteError:
            priced, beyond = None, True
        if priced is None or beyond:
            tx.err = SLIPPAGE_ERR
            tx.logs += [
                "Program log: Slippage tolerance exceeded",
                f"Program {program} failed: custom program error: 0x1771",
            ]
        elif wallet.tokens.get(t.input_mint, 0) < priced.in_amount:
            tx.err = INSUFFICIENT_ERR
            tx.logs += [
                "Program log: Error: insufficient funds",
                f"Program {program} failed: custom program error: 0x1",
            ]
        else:
            wallet.tokens[t.input_mint] = wallet.tokens.get(t.input_mint, 0) - priced.in_amount
            wallet.tokens[t.output_mint] = wallet.tokens.get(t.output_mint, 0) + priced.out_amount
            pool.apply(priced.pool_in, priced.pool_out, t.base_in)
            if priced.platform_fee:
                self.platform_fees[priced.fee_mint] += priced.platform_fee
            tx.in_amount, tx.out_amount = priced.in_amount, priced.out_amount
            tx.platform_fee, tx.fee_mint = priced.platform_fee, priced.fee_mint
            tx.logs.append(f"Program {program} success")
        tx.post_lamports = wallet.lamports
        tx.post_tokens = {m: wallet.tokens.get(m, 0) for m in mints}

    def _land_wrap(self, tx: SimTx, wallet: Wallet) -> None:
        t = tx.ticket
        tx.logs = [f"Program {SYSTEM_PROGRAM} invoke [1]"]
        if wallet.lamports < t.amount:
            tx.err = {"InstructionError": [1, {"Custom": 1}]}
            tx.logs.append("Transfer: insufficient lamports")
            return
        wallet.lamports -= t.amount
        wallet.tokens[WSOL_MINT] = wallet.tokens.get(WSOL_MINT, 0) + t.amount
        tx.in_amount = tx.out_amount = t.amount
        tx.logs += [f"Program {SYSTEM_PROGRAM} success", "Program log: Instruction: SyncNative"]

    def _land_claim(self, tx: SimTx, wallet: Wallet) -> None:
        t = tx.ticket
        paid = min(t.amount, self.partner_unclaimed[t.user])
        self.partner_unclaimed[t.user] -= paid
        self.partner_claimed[t.user] += paid
        wallet.lamports += paid
        tx.in_amount = tx.out_amount = paid
        tx.logs = [f"Program {CLAIM_PROGRAM} invoke [1]", f"Program {CLAIM_PROGRAM} success"]

    # -- views ----------------------------------------------------------------------------

    def state(self) -> dict[str, Any]:
        return {
            "slot": self.slot,
            "pools": {
                sym: {route: {"base": p.base, "quote": p.quote} for route, p in routes.items()}
                for sym, routes in self.pools.items()
            },
            "wallets": {
                key: {"lamports": w.lamports, "tokens": dict(w.tokens)}
                for key, w in self.wallets.items()
            },
            "transactions": [tx.state(self.slot, self.confirm_slots) for tx in self.txs.values()],
            "platform_fees": dict(self.platform_fees),
            "partner_unclaimed": dict(self.partner_unclaimed),
            "partner_claimed": dict(self.partner_claimed),
        }
