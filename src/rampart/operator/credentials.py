"""An investor's keys and wallets: connected (sealed under the master key), shown by their
public part only, and forgotten on ``/disconnect``, each audited once in the facade's
numbered sequence.

The front has already proved a key with the exchange and deleted the messages that carried
it; these functions store, record and answer. A stored Solana wallet is never replaced from a
chat and never forgotten while it holds money: the secret kept here may be the only copy.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal
from html import escape
from typing import TYPE_CHECKING

import structlog
from solders.keypair import Keypair

from rampart.domain.errors import RampartError
from rampart.operator import routing
from rampart.security import wallets
from rampart.security.credential_store import delete_credentials, save_credentials
from rampart.security.secrets import Credentials, KeyBox

if TYPE_CHECKING:
    from rampart.operator.desk import InvestorDesk
    from rampart.operator.investor_record import Investor

log = structlog.get_logger("rampart.operator.credentials")

WALLET = routing.SOLANA
"""What ``/connect`` calls a Solana wallet (and the ``exchange`` its credentials carry)."""
EXCHANGES = ("binance", WALLET)
CONNECTED = "operator.credential.connect"
DISCONNECTED = "operator.credential.disconnect"
"""The facade's audit entries for a key or wallet kept and forgotten (numbered with the rest,
through the buffered writer): never the secret, the masked key or public key only."""


def _owner(inv: Investor) -> str:
    return f"telegram:{inv.telegram_id}"


def key_box(desk: InvestorDesk, what: str = "exchange keys") -> KeyBox:
    if desk.key_box is None:
        raise RampartError(
            f"This service has no master key to protect {what}; ask the operator, "
            "or use /connect paper."
        )
    return desk.key_box


def check_exchange_choice(desk: InvestorDesk, inv: Investor, choice: str) -> None:
    """On an exchange-backed service: only that exchange, and not under a running account
    (its client holds the key it started with)."""
    exchange = routing.venue_name(desk.settings)
    if choice == "paper":
        raise RampartError(routing.no_paper_here(desk.settings))
    if choice in EXCHANGES and choice != exchange:
        raise RampartError(f"This service trades on {exchange}; /connect {exchange}.")
    if desk.running(inv.account_id) is not None:
        raise RampartError(
            "Your account is trading with the key you connected; /disconnect it first (with "
            "nothing open), then connect the new one."
        )


async def connect_paper(desk: InvestorDesk, inv: Investor) -> str:
    await desk.investors.save(inv.with_(mode="paper"))
    return (
        "Paper account connected: virtual money, real prices. "
        "Pick a profile with /risk and start with /invest AMOUNT."
    )


async def connect_key(desk: InvestorDesk, inv: Investor, creds: Credentials) -> str:
    """Store a key the exchange accepted, sealed; audited with its masked form only."""
    box = key_box(desk)
    now = desk.operator.business.now_ms()
    db = desk.session.db
    await asyncio.to_thread(save_credentials, db, box, inv.account_id, creds, now)
    await desk.investors.save(inv.with_(mode=creds.exchange))
    log.info("exchange_key_saved", telegram_id=inv.telegram_id, exchange=creds.exchange)
    # Never the secret: which exchange and the masked key only.
    await desk.operator.audit(
        _owner(inv), CONNECTED, inv.account_id, exchange=creds.exchange, key=creds.masked_key()
    )
    if routing.exchange_backed(desk.settings):
        after = "/invest AMOUNT starts trading with it."
    else:
        after = "Your account trades on paper here; the key is only checked and kept."
    return (
        f"Your {escape(creds.exchange)} key {escape(creds.masked_key())} works and is saved "
        f"encrypted. This service trades in {escape(desk.settings.mode)} mode. {after}"
    )


def wallet_replaceable(desk: InvestorDesk, inv: Investor) -> bool:
    """Whether the account's stored credentials may be replaced by a wallet: an exchange key
    may (the exchange keeps it), a Solana wallet may not. Raises the refusal for a wallet."""
    try:
        held = wallets.show_wallet(desk.session.db, key_box(desk, "wallet keys"), inv.account_id)
    except wallets.WalletError:
        return True  # an exchange key: the investor can make another at the exchange
    if held is None:
        return False
    raise RampartError(
        f"Your Solana wallet {held.pubkey} is connected already; it stays as it is. "
        "Ask the operator to replace it."
    )


async def connect_wallet(
    desk: InvestorDesk, inv: Investor, keypair: Keypair, *, created: bool
) -> str:
    """Store a Solana wallet (pasted or made here), sealed; audited with its public key."""
    replace = wallet_replaceable(desk, inv)
    now = desk.operator.business.now_ms()
    box = key_box(desk, "wallet keys")
    wallet = await asyncio.to_thread(
        wallets.store_keypair, desk.session.db, box, inv.account_id, keypair, now, replace=replace
    )
    await desk.investors.save(inv.with_(mode=WALLET))
    log.info(
        "solana_wallet_saved", telegram_id=inv.telegram_id, pubkey=wallet.pubkey, created=created
    )
    await desk.operator.audit(
        _owner(inv), CONNECTED, inv.account_id, exchange=WALLET, key=wallet.pubkey, created=created
    )
    if routing.on_chain(desk.settings):
        after = "/invest AMOUNT starts trading with it."
    else:
        after = "Your account trades on paper here; the wallet is only kept."
    made = (
        "Your new Solana wallet is ready; its secret is kept encrypted here and never shown."
        if created
        else "Your Solana wallet is saved encrypted (message deleted)."
    )
    return (
        f"{made} Public key: <code>{escape(wallet.pubkey)}</code>. Fund it with SOL for "
        f"network fees and the tokens you trade. {after}"
    )


async def disconnect(desk: InvestorDesk, inv: Investor) -> str:
    """Forget the investor's key or wallet; on an exchange-backed service stop their (flat)
    account first. Refused, changing nothing, while a wallet holds money or anything is open."""
    # A Solana wallet holding money is kept (its key here may be the only copy): refused
    # before anything changes, the account included.
    await routing.keep_funded_wallet(desk, inv.account_id)
    on_exchange = routing.exchange_backed(desk.settings)
    acct = desk.running(inv.account_id)
    if on_exchange and acct is not None:
        # Refused (nothing changes) while anything is open on the exchange under this key.
        await routing.stop_exchange_account(desk, acct)
    gone = await asyncio.to_thread(delete_credentials, desk.session.db, inv.account_id)
    await desk.operator.audit(_owner(inv), DISCONNECTED, inv.account_id, removed=gone)
    if on_exchange:
        # Not connected any more: a restart must not start the account again.
        await desk.investors.save(inv.with_(mode="", capital=Decimal(0)))
    elif inv.mode in EXCHANGES:
        await desk.investors.save(inv.with_(mode="paper"))
    what = "Solana wallet" if inv.mode == WALLET else "exchange key"
    text = f"Your {what} is forgotten." if gone else "No exchange key or wallet was stored."
    if on_exchange and acct is not None:
        text += " Your account has stopped trading; /connect and /invest start it again."
    return text


__all__ = [
    "EXCHANGES",
    "WALLET",
    "check_exchange_choice",
    "connect_key",
    "connect_paper",
    "connect_wallet",
    "disconnect",
    "wallet_replaceable",
]
