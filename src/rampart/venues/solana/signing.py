"""Keypairs and signatures. A secret is parsed once into a :class:`Wallet`, whose repr and
str show only the public key; no error message ever quotes the secret."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

from solders.keypair import Keypair
from solders.pubkey import Pubkey
from solders.transaction import VersionedTransaction

from rampart.domain.errors import ConfigError, VenueError

_NOT_A_WALLET_KEY = (
    "The wallet secret is neither a base58 64-byte key nor a solana-keygen key file "
    "(a JSON array of 64 numbers)."
)


def parse_keypair(secret: str) -> Keypair:
    """A keypair from a base58 64-byte secret, a solana-keygen JSON array, or ``file:PATH``
    of such a file."""
    text = secret.strip()
    if text.startswith("file:"):
        path = Path(text[5:]).expanduser()
        try:
            text = path.read_text(encoding="utf-8").strip()
        except OSError:
            raise ConfigError(f"The wallet key file {path} cannot be read.") from None
    try:
        if text.startswith("["):
            numbers = json.loads(text)
            if (
                not isinstance(numbers, list)
                or len(numbers) != 64
                or not all(isinstance(n, int) and 0 <= n <= 255 for n in numbers)
            ):
                raise ValueError
            return Keypair.from_bytes(bytes(numbers))
        return Keypair.from_base58_string(text)
    except BaseException as exc:  # solders raises its own panic type on some malformed input
        if isinstance(exc, KeyboardInterrupt | SystemExit):
            raise
        raise ConfigError(_NOT_A_WALLET_KEY) from None


class Wallet:
    """One account's keypair. Never printed: repr and str give the public key only."""

    __slots__ = ("_keypair", "pubkey")

    def __init__(self, keypair: Keypair) -> None:
        self._keypair = keypair
        self.pubkey: Pubkey = keypair.pubkey()

    @classmethod
    def from_secret(cls, secret: str, expected_pubkey: str | None = None) -> Wallet:
        wallet = cls(parse_keypair(secret))
        if expected_pubkey is not None and str(wallet.pubkey) != expected_pubkey.strip():
            raise ConfigError("The wallet secret does not belong to the public key given.")
        return wallet

    @property
    def address(self) -> str:
        return str(self.pubkey)

    def __repr__(self) -> str:
        return f"Wallet({self.address})"

    __str__ = __repr__

    def __reduce__(self) -> str | tuple[object, ...]:
        raise TypeError("a wallet cannot be pickled")

    def sign(self, tx: VersionedTransaction) -> VersionedTransaction:
        return sign(tx, self._keypair)


class Wallets(dict[str, Wallet]):
    """Each account's wallet, by account id (its repr is the wallets' own: public keys only)."""

    def add_secrets(self, secrets: Mapping[str, str]) -> None:
        for account_id, secret in secrets.items():
            self[account_id] = Wallet.from_secret(secret)

    def connect(self, account_id: str, public_key: str, secret: str) -> None:
        if account_id in self:
            raise ConfigError(f"Account {account_id} already has a Solana wallet connected.")
        self[account_id] = Wallet.from_secret(secret, expected_pubkey=public_key)

    def address(self, account_id: str) -> str | None:
        wallet = self.get(account_id)
        return wallet.address if wallet else None

    def of(self, account_id: str) -> Wallet:
        wallet = self.get(account_id)
        if wallet is None:
            raise ConfigError(
                f"Account {account_id} has no Solana wallet; import one with 'rampart wallet'."
            )
        return wallet


def sign(tx: VersionedTransaction, keypair: Keypair) -> VersionedTransaction:
    """``tx`` signed by ``keypair``, which must be its fee payer and only signer: a route must
    never make us sign for someone else's account."""
    message = tx.message
    keys = message.account_keys
    if not keys or keys[0] != keypair.pubkey():
        raise VenueError(
            "The swap transaction names another fee payer than this wallet; it was not signed.",
            "foreign_fee_payer",
        )
    if message.header.num_required_signatures != 1:
        raise VenueError(
            "The swap transaction needs signatures from other accounts; it was not signed.",
            "foreign_signer",
        )
    try:
        return VersionedTransaction(message, [keypair])
    except BaseException as exc:
        if isinstance(exc, KeyboardInterrupt | SystemExit):
            raise
        raise VenueError("The swap transaction could not be signed.", "sign_failed") from None


__all__ = ["Wallet", "Wallets", "parse_keypair", "sign"]
