"""The fronts' own records, kept in the service's store and reached through the facade: the
API's tokens, the panel's sign-in sessions, the bot's durable command book.

Each is bound to the session behind the facade, so a front is handed methods, never the store's
handle. The store opens after the facade is built, so each object asks
:meth:`ready` (is it open now?) rather than being handed a handle once. Every read and write is
blocking: call it in a worker thread; a store that fails raises
:class:`~rampart.domain.errors.StoreError`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rampart.domain.errors import StoreError
from rampart.security import tokens
from rampart.store import panel_sessions as panel_store


class _Bound:
    def __init__(self, session: Any) -> None:
        self._session = session

    def ready(self) -> bool:
        """Whether the service's store is open (None before ``session.open()``)."""
        return getattr(self._session, "db", None) is not None

    def _db(self) -> Any:
        db = getattr(self._session, "db", None)
        if db is None:
            raise StoreError("The database is not open yet.")
        return db


class TokenRecords(_Bound):
    """The API tokens as the store keeps them (:mod:`rampart.security.tokens`), for the API's
    token check."""

    def usable(self, now_ms: int, limit: int) -> dict[str, tokens.TokenInfo]:
        """Every token usable at ``now_ms`` or later, by hash (the newest ``limit``)."""
        return tokens.usable_tokens(self._db(), now_ms, limit)

    def find(self, ref: str) -> Sequence[tokens.TokenInfo]:
        """Tokens matching ``ref``: an id number, or the beginning of the shown prefix."""
        return tokens.find_tokens(self._db(), ref)

    def verify(self, token: str, now_ms: int) -> tokens.TokenInfo | None:
        """The token's record if it exists and is usable at ``now_ms``; None otherwise."""
        return tokens.verify(self._db(), token, now_ms)

    def touch(self, token_id: int, now_ms: int) -> None:
        """Record when the token was last used."""
        tokens.touch(self._db(), token_id, now_ms)


class PanelSessionRecords(_Bound):
    """The panel's sign-in sessions as the store keeps them (so a restart keeps people signed
    in), for the panel's session store."""

    def save(self, sid_hash: str, token_id: int, csrf: str, now: int, expires: int) -> None:
        panel_store.save(self._db(), sid_hash, token_id, csrf, now, expires)

    def load(self, sid_hash: str, now: int) -> Any:
        return panel_store.load(self._db(), sid_hash, now)

    def delete(self, sid_hash: str) -> None:
        panel_store.delete(self._db(), sid_hash)


__all__ = ["PanelSessionRecords", "TokenRecords"]
