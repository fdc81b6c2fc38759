"""Investor accounts on an exchange-backed service: each one trades through its own key.

When the service's venue is ccxt (``venue.kind: ccxt``, modes testnet and live) there is one
venue, the exchange, and an account can only trade there with a ccxt client holding its key.
The Solana venue (``venue.kind: solana``) is routed the same way, with the investor's own
wallet (``/connect solana``) as the key: :func:`venue_name` is what the bot calls the venue.
An investor account is therefore started only with the credentials the investor ``/connect``-ed:
they are opened with the bot's KeyBox, a client is built as the configured accounts' are
and connected to the venue (:class:`~rampart.trading.ports.KeyedVenue`), and only then is the
account added to the engine. On a restart :func:`restore_route` does the same before the
checkpoint loads, and ``/disconnect`` (with nothing open) stops the account and drops the client.

Paper accounts are not possible on such a service: the engine has one venue, so a "paper"
account's orders would go to the exchange without a key. ``/connect paper`` and ``/demo`` are
refused with a sentence pointing to ``/connect <exchange>``.

**Capital.** The account's capital is what the connected exchange account holds in the quote
currency, with ``/invest AMOUNT`` as the most the investor agrees to put at risk:

- the balance is at most AMOUNT (1 % over is taken as rounding) → the account starts with the
  balance (the reply says so when it is less than AMOUNT: money that is not there cannot be
  traded);
- the balance is more than that → refused. Reconciliation makes the books equal to the
  exchange (the venue is the truth: :mod:`rampart.trading.reconcile.books`), so an account
  started with 300 on a 10,000 balance would be sized on 10,000 at the first reconciliation.
  A trader who says 300 must not find 10,000 at risk: they connect a (sub-)account holding
  what they want traded, or send ``/invest <balance>``.

The same reasoning refuses an exchange account that already holds a traded coin (reconciliation
would adopt it as a position and put Rampart's stop-loss and target on it). Both checks run
before the account exists, so a refusal changes nothing.

**A Solana wallet.** Its quote token (USDC) is the capital, by the same rules. Native SOL
(``SOL.gas``) is not capital, it pays the network fees: a wallet with less than
:data:`MIN_GAS` is refused, since every swap (and every stop-loss) would fail for want of a
fee. ``/disconnect`` forgets a wallet only once it is empty (:func:`wallet_funds`): the stored
secret may be the only copy of a wallet the bot created.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import structlog

from rampart.domain.errors import RampartError
from rampart.domain.fills import Balance
from rampart.observability.logging import register_secret
from rampart.operator.accounts import AccountConfig, account_spec, quote_of
from rampart.operator.keycheck import key_balances
from rampart.operator.text import money
from rampart.security.credential_store import load_credentials
from rampart.security.secrets import Credentials, KeyBox, key_configured, load_key_box
from rampart.trading.ports import KeyedVenue

if TYPE_CHECKING:
    from rampart.operator.desk_base import Desk
    from rampart.operator.investor_record import Investor
    from rampart.operator.settings import Settings
    from rampart.store.queries import AccountRecord
    from rampart.trading.account import AccountRuntime

log = structlog.get_logger("rampart.operator.routing")

ZERO = Decimal(0)
SLACK = Decimal("0.01")
"""How far over the /invest amount a balance may be and still be what the investor meant."""

SOLANA = "solana"
GAS = "SOL.gas"
"""The native lamports in a Solana venue's balances (the gas tank, not capital)."""
MIN_GAS = Decimal("0.01")
"""The least SOL a wallet must hold to start: 15,000 lamports a swap (fee and priority) make
this several hundred swaps, so the stop-losses of a running account are never short of fees."""
GAS_DUST = Decimal("0.001")
"""SOL below this is dust for /disconnect (less than a token account's rent)."""
TOKEN_DUST = Decimal("0.01")
"""A quote token amount below this (a cent) is dust for /disconnect."""


def exchange_backed(settings: Settings) -> bool:
    """Whether orders go to an exchange or the chain (one venue, no paper accounts beside it)."""
    return settings.venue.kind in ("ccxt", SOLANA)


def venue_name(settings: Settings) -> str:
    """What the bot calls the venue investors trade on, as in ``/connect <name>``; also the
    ``exchange`` of the credentials that trade there."""
    return SOLANA if settings.venue.kind == SOLANA else settings.venue.exchange


def on_chain(settings: Settings) -> bool:
    return settings.venue.kind == SOLANA


def key_word(settings: Settings) -> str:
    """What the investor's credentials are called: a wallet on the chain, a key elsewhere."""
    return "wallet" if on_chain(settings) else "key"


def keyed_venue(venue: Any) -> KeyedVenue | None:
    """The venue as one whose accounts trade with their own keys, or None (paper)."""
    return venue if isinstance(venue, KeyedVenue) else None


def no_paper_here(settings: Settings) -> str:
    name = venue_name(settings)
    return (
        f"This service trades on {name} ({settings.mode}), where every account uses its "
        f"own {key_word(settings)}; paper accounts are not possible here. /connect {name} "
        "instead."
    )


def _venue(session: Any) -> KeyedVenue:
    venue = keyed_venue(session.engine.venue)
    if venue is None:
        raise RampartError("This service's venue is not an exchange; ask the operator.")
    return venue


async def _credentials(
    settings: Settings, session: Any, box: KeyBox | None, account_id: str
) -> Credentials:
    """The account's stored key, opened (raises if none, or one for another venue)."""
    if box is None:
        raise RampartError(
            "This service has no master key to open exchange keys with; ask the operator."
        )
    creds = await asyncio.to_thread(load_credentials, session.db, box, account_id)
    exchange, word = venue_name(settings), key_word(settings)
    if creds is None:
        raise RampartError(
            f"Trading here needs your {exchange} {word}: /connect {exchange}, then /invest AMOUNT."
        )
    if creds.exchange != exchange:
        raise RampartError(
            f"Your {'wallet' if creds.exchange == SOLANA else 'key'} is for {creds.exchange}, "
            f"but this service trades on {exchange}; /connect {exchange}."
        )
    # The client keeps the key in memory for its requests: keep it out of every log line too.
    register_secret(creds.api_key)
    register_secret(creds.secret)
    return creds


async def _open_client(
    settings: Settings, session: Any, box: KeyBox | None, account_id: str
) -> KeyedVenue:
    """Open the account's stored key and connect it to the venue (raises if none)."""
    creds = await _credentials(settings, session, box, account_id)
    venue = _venue(session)
    await venue.connect_account(account_id, creds.api_key, creds.secret)
    return venue


def _address(venue: Any, account_id: str) -> str | None:
    """The account's wallet address on the chain (None elsewhere, or when not connected)."""
    find = getattr(venue, "wallet_address", None)
    return find(account_id) if find is not None else None


async def _load_markets(venue: Any, symbols: list[str]) -> None:
    """The chain's markets for the traded symbols (decimals read from chain once; the
    service reads them at startup, so this is only a call when they are not known yet)."""
    await venue.load(symbols)


def _quote_total(balances: dict[str, Balance], asset: str) -> Decimal:
    return balances.get(asset, Balance(asset)).total


def _held_coins(venue: KeyedVenue, balances: dict[str, Balance], symbols: list[str]) -> list[str]:
    """Traded coins the account already holds beyond dust (less than the smallest order)."""
    held = []
    for symbol in symbols:
        inst = venue.instrument(symbol)
        qty = _quote_total(balances, inst.base)
        if qty >= max(inst.min_qty, inst.lot_size) and qty > ZERO:
            held.append(f"{qty.normalize():f} {inst.base}")
    return held


def _holder(exchange: str) -> str:
    return "Solana wallet" if exchange == SOLANA else f"{exchange} account"


def decide_capital(balance: Decimal, wanted: Decimal, quote: str, exchange: str) -> Decimal:
    """The capital to start with: the balance, when it is at most what the investor named
    (give or take :data:`SLACK`, so 400.0000012 on the exchange is what "400" means)."""
    if balance > wanted * (1 + SLACK):
        # A stored wallet is never replaced from the chat: the way out is to move money out.
        instead = (
            "so move what you do not want traded out of the wallet"
            if exchange == SOLANA
            else "so connect a sub-account holding what you want traded"
        )
        where = "the chain" if exchange == SOLANA else "the exchange"
        raise RampartError(
            f"Your {_holder(exchange)} holds {money(balance, quote)}, more than the "
            f"{money(wanted, quote)} you named. Rampart trades everything the connected "
            f"{'wallet' if exchange == SOLANA else 'account'} holds (its books follow {where}), "
            f"{instead}, or send /invest {balance.normalize():f}; nothing was started."
        )
    if balance < 10:
        raise RampartError(
            f"Your {_holder(exchange)} holds {money(balance, quote)}; deposit at least "
            f"{money(Decimal(10), quote)} there, then /invest again; nothing was started."
        )
    return balance


def check_gas(balances: dict[str, Balance], address: str | None) -> None:
    """Refuse a wallet without SOL enough for the network fees of its swaps."""
    gas = _quote_total(balances, GAS)
    if gas < MIN_GAS:
        to = f" to {address}" if address else ""
        raise RampartError(
            f"Your Solana wallet holds {gas.normalize():f} SOL for network fees; it needs at "
            f"least {MIN_GAS.normalize():f} SOL, so send some SOL{to}, then /invest again; "
            "nothing was started."
        )


async def start_exchange_account(
    bot: Desk,
    inv: Investor,
    wanted: Decimal,
    stage_check: Callable[[Decimal, str], str | None],
) -> Investor:
    """Start ``inv``'s account trading through their own key; returns it with the capital
    actually used. ``stage_check(amount, profile)`` returns the rollout stage's refusal or
    None. Anything refused leaves no client and no account behind."""
    settings = bot.settings
    exchange = venue_name(settings)
    if inv.mode != exchange:
        if inv.mode and inv.mode != "paper" and inv.mode != "demo":
            raise RampartError(f"This service trades on {exchange}; /connect {exchange}.")
        raise RampartError(no_paper_here(settings))
    session = bot.session
    symbols = list(settings.feed.symbols)
    if keyed_venue(session.engine.venue) is None and not on_chain(settings):
        # ``rampart serve``: its engine mirrors the workers' shards and trades nothing. The
        # balance is read with the key once here; the worker holding the account's shard
        # opens the key from the store and trades with it (its refusal comes back raised).
        creds = await _credentials(settings, session, bot.key_box, inv.account_id)
        balances = await key_balances(
            settings.venue, settings.mode, exchange, creds.api_key, creds.secret
        )
        return await _start_with(bot, inv, wanted, stage_check, session.engine.venue, balances)
    venue = await _open_client(settings, session, bot.key_box, inv.account_id)
    try:
        if on_chain(settings):
            await _load_markets(venue, symbols)
        balances = await venue.fetch_balances(inv.account_id)
        if on_chain(settings):
            check_gas(balances, _address(venue, inv.account_id))
        started = await _start_with(bot, inv, wanted, stage_check, venue, balances)
    except BaseException:
        # The engine takes back an account its venue refused; the client goes too.
        await venue.disconnect_account(inv.account_id)
        raise
    return started


async def _start_with(
    bot: Desk,
    inv: Investor,
    wanted: Decimal,
    stage_check: Callable[[Decimal, str], str | None],
    venue: Any,
    balances: dict[str, Balance],
) -> Investor:
    """Start ``inv``'s account on what its exchange account holds (``venue`` knows the
    instruments), or refuse in one sentence with nothing started."""
    settings = bot.settings
    exchange = venue_name(settings)
    symbols = list(settings.feed.symbols)
    quote = quote_of(symbols)
    held = _held_coins(venue, balances, symbols)
    if held:
        instead = (
            f"so sell or move them out of the wallet until it holds only {quote} (and SOL for fees)"
            if on_chain(settings)
            else f"so connect a sub-account holding only {quote}"
        )
        raise RampartError(
            f"Your {_holder(exchange)} already holds {', '.join(held)}. Rampart manages "
            "everything on the account it trades (it would put its stop-loss and target on "
            f"them), {instead}; nothing was started."
        )
    capital = decide_capital(_quote_total(balances, quote), wanted, quote, exchange)
    refusal = stage_check(capital, inv.profile)
    if refusal:
        raise RampartError(refusal)
    cfg = AccountConfig(
        id=inv.account_id,
        agent="trend",
        profile=inv.profile,
        capital=capital,
        symbols=symbols,
        owner=f"telegram:{inv.telegram_id}",
    )
    started = inv.with_(capital=capital)
    forwarded = bot.operator.forwarding
    if forwarded:
        # The worker that takes the account up reads the investor's capital from the store.
        await bot.operator.investors.save(started)
    try:
        async with bot.lock:
            await bot.operator.add_account(account_spec(cfg, quote))
    except BaseException:
        if forwarded:
            await bot.operator.investors.save(inv)
        raise
    log.info("investor_account_routed", account_id=inv.account_id, exchange=exchange)
    return started


def _open_business(acct: AccountRuntime) -> tuple[int, int]:
    orders = sum(1 for o in acct.orders.values() if o.is_open)
    return len(acct.ledger.positions), orders


async def stop_exchange_account(bot: Desk, acct: AccountRuntime) -> None:
    """Take a flat account out of the engine and drop its client (``/disconnect``).

    Refused while anything is open: its stop-losses live on the exchange under this key, and
    a position nobody watches is the one thing Rampart never leaves behind."""
    engine = bot.session.engine
    async with bot.lock:
        positions, orders = _open_business(acct)
        venue = keyed_venue(engine.venue)
        followed = venue.followed_orders(acct.account_id) if venue is not None else 0
        if positions or orders or followed:
            chain = on_chain(bot.settings)
            raise RampartError(
                f"You still have {positions} open position(s) and {max(orders, followed)} "
                f"open order(s) on your {'wallet' if chain else 'exchange'}; /close all and wait "
                f"until they are done, then /disconnect. Your {key_word(bot.settings)} is kept "
                "until then."
            )
        engine.remove_account(acct.account_id)
        writer = bot.session.writer
        if writer is not None:
            writer.upsert_account(acct.spec, acct.state, True, bot.session.clock.now_ms())
    if venue is not None:
        await venue.disconnect_account(acct.account_id)
    log.info("investor_account_unrouted", account_id=acct.account_id)


# -- a Solana wallet's secret is forgotten only once the wallet is empty --------------------


def _dust(venue: KeyedVenue, symbols: list[str], asset: str) -> Decimal:
    """The least amount of ``asset`` that is worth keeping the wallet's key for: the quote
    token below a cent, a traded coin below its smallest order; any other token counts."""
    for symbol in symbols:
        inst = venue.instrument(symbol)
        if asset == inst.quote:
            return TOKEN_DUST
        if asset == inst.base:
            return max(inst.min_qty, inst.lot_size)
    return Decimal("1e-18")


def beyond_dust(venue: KeyedVenue, balances: dict[str, Balance], symbols: list[str]) -> list[str]:
    """What a wallet holds that is more than dust, as "400 USDC", "0.05 SOL for fees"."""
    held = []
    for asset, bal in sorted(balances.items()):
        amount = bal.total
        if asset == GAS:
            if amount >= GAS_DUST:
                held.append(f"{amount.normalize():f} SOL for fees")
        elif amount > ZERO and amount >= _dust(venue, symbols, asset):
            held.append(f"{amount.normalize():f} {asset}")
    return held


async def _stored_wallet(db: Any, account_id: str) -> bool:
    from rampart.security.wallets import list_wallets

    found = await asyncio.to_thread(list_wallets, db)
    return any(account == account_id for account, _, _ in found)


async def keep_funded_wallet(bot: Desk, account_id: str) -> None:
    """Before ``/disconnect`` forgets anything: refuse while the account's stored Solana
    wallet holds more than dust. The secret kept here may be the only copy of its key (the
    bot can create wallets), so forgetting it could lose the money on it. Nothing changes."""
    session = bot.session
    if not await _stored_wallet(session.db, account_id):
        return
    export = "the operator can export its key with 'rampart wallet export'"
    if not on_chain(bot.settings):
        raise RampartError(
            "This service does not trade on Solana, so I cannot see what your wallet holds; "
            f"its key is kept (nothing was forgotten), and {export} if you need it."
        )
    venue = _venue(session)
    connected = _address(venue, account_id) is not None
    if not connected:
        venue = await _open_client(bot.settings, session, bot.key_box, account_id)
    try:
        await _load_markets(venue, list(bot.settings.feed.symbols))
        balances = await venue.fetch_balances(account_id)
        address = _address(venue, account_id)
    finally:
        if not connected:
            await venue.disconnect_account(account_id)
    held = beyond_dust(venue, balances, list(bot.settings.feed.symbols))
    if held:
        raise RampartError(
            f"Your Solana wallet {address} still holds {', '.join(held)}, and the secret kept "
            "here may be the only copy of its key, so nothing was forgotten and your account "
            f"is as it was: move the funds out first ({export}), then /disconnect."
        )


def restore_box(settings: Settings) -> KeyBox | None:
    """The key box the bot uses, from the same settings (None when none is configured)."""
    if not key_configured(settings.master_key, settings.vault):
        return None
    return load_key_box(settings.master_key, settings.vault)


async def restore_route(session: Any, box: KeyBox | None, record: AccountRecord) -> bool:
    """Add an investor account back after a restart, its own client first. False (logged,
    nothing left behind) when it cannot trade here: no stored key, one that does not open, or
    one the exchange refuses now. One investor's revoked key must not keep the service, and
    everyone else's accounts, from starting; their stop-losses stay on the exchange."""
    account_id = record.account_id
    try:
        venue = await _open_client(session.settings, session, box, account_id)
    except RampartError as exc:
        log.warning("investor_account_not_restored", account_id=account_id, why=exc.message)
        return False
    engine = session.engine
    try:
        await engine.add_account(record.spec)
    except RampartError as exc:
        log.error("investor_account_not_restored", account_id=account_id, why=exc.message)
        await venue.disconnect_account(account_id)
        return False
    except BaseException:
        await venue.disconnect_account(account_id)
        raise
    return True
