"""What an exchange key may do, read from the exchange where it publishes it, so that a key
able to withdraw is refused before Rampart holds it (keys that cannot hurt).

Binance: ``GET /sapi/v1/account/apiRestrictions`` ("Get API Key Permission", signed, weight 1;
the contract fixture ``tests/contracts/binance/api_restrictions.json``) says whether the key
can withdraw (``enableWithdrawals``) and whether it is pinned to IP addresses
(``ipRestrict``). Other exchanges publish no such read through ccxt: :func:`read_key_rights`
answers ``None``. A live key whose restrictions cannot be read (no answer, an odd one, or an
exchange that publishes none) is refused like one that can withdraw, unless the operator sets
``venue.accept_unread_key_rights`` (else such a key gets through ``preflight`` and
``/connect``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rampart.domain.errors import DataError

PUBLISHED = frozenset({"binance"})
"""Exchanges whose key restrictions Rampart can read."""

MANAGEMENT_PAGE = {"binance": "Binance's API management page"}


@dataclass(frozen=True, slots=True)
class KeyRights:
    can_withdraw: bool
    ip_restricted: bool


def page_of(exchange: str) -> str:
    return MANAGEMENT_PAGE.get(exchange, f"{exchange}'s API management page")


def rights_from_binance(answer: Any) -> KeyRights:
    """Binance's answer read; DataError in one sentence when it lacks the two flags."""
    if not isinstance(answer, dict):
        raise DataError("binance answered the key's restrictions with something not an object.")
    withdraw, pinned = answer.get("enableWithdrawals"), answer.get("ipRestrict")
    if not isinstance(withdraw, bool) or not isinstance(pinned, bool):
        raise DataError(
            "binance answered the key's restrictions without enableWithdrawals and ipRestrict "
            "as true or false."
        )
    return KeyRights(can_withdraw=withdraw, ip_restricted=pinned)


async def read_key_rights(client: Any, exchange: str) -> KeyRights | None:
    """The key's rights through its own ccxt ``client`` (one signed request), or ``None`` when
    ``exchange`` does not publish them. ccxt's errors pass through for the caller to word."""
    if exchange not in PUBLISHED:
        return None
    return rights_from_binance(await client.sapi_get_account_apirestrictions())


def refusal(exchange: str, who: str) -> str:
    """The sentence refusing a key that can withdraw (``who``: "The key of alice", …)."""
    return (
        f"{who} can withdraw funds: turn off withdrawals for it on {page_of(exchange)} "
        "(Rampart never needs them), then try again."
    )


def unread(exchange: str, whose: str, why: str) -> str:
    """The sentence refusing a key whose restrictions could not be read (``whose``: "alice's
    key", "this key"; ``why``: what went wrong, in words)."""
    return (
        f"The restrictions of {whose} could not be read ({why}), so nothing shows that it "
        f"cannot withdraw: check on {page_of(exchange)} that withdrawals are off for it, then "
        "try again, or set venue.accept_unread_key_rights to accept such keys."
    )


def unpinned(exchange: str, who: str) -> str:
    """The warning for a key not restricted to IP addresses."""
    return (
        f"{who} is not restricted to an IP address: pin it to this server's address on "
        f"{page_of(exchange)}, so a stolen copy is useless elsewhere."
    )


__all__ = [
    "PUBLISHED",
    "KeyRights",
    "page_of",
    "read_key_rights",
    "refusal",
    "rights_from_binance",
    "unpinned",
    "unread",
]
