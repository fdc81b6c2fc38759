"""The bot's durable commands and replies: the outbox discipline of notices, for commands.

Under a flood a reply waits its turn at the pacer for seconds; a restart then dropped what
was queued, and the commands behind it were never seen again (211 of 300 unanswered after a
restart mid-flood). So each command is written to ``bot_inbox`` as it is handled, each reply
to ``bot_replies`` before it is queued, the command is marked handled once its replies are
written, and a reply is marked sent once Telegram accepted it. At the next start
:meth:`CommandBook.unsent` gives the replies to send and :meth:`CommandBook.unhandled` the
commands to run again — or, older than the configured age, to answer "this took too long,
please ask again": a late answer to ``/portfolio`` would show figures no longer true.

Only commands that carry no secret keep their update (``payload``): never ``/connect`` with a
key on its line, never free text (a key pasted on its own), which are answered from memory.
Delivery is at least once: a reply sent just before a crash, its row not yet marked, goes again.
A mark the store refuses (it is away for a moment) is kept in memory and written with the next
one, or by the running bot's next beat (:meth:`CommandBook.flush`): left unwritten, the next start
would send that reply again, or run that command again, long after the store came back.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import sqlalchemy as sa

from rampart.store.errors import translating
from rampart.store.models import notify as mn

KEEP_MS = 86_400_000
"""Handled commands and sent replies are kept a day, then pruned."""


@dataclass(frozen=True, slots=True)
class StoredReply:
    id: int
    update_id: int
    chat_id: int
    text: str
    markup: str | None
    lane: str
    created_at: int


@dataclass(frozen=True, slots=True)
class StoredCommand:
    update_id: int
    chat_id: int
    payload: str
    received_at: int


class CommandBook:
    """Reads and writes of ``bot_inbox`` and ``bot_replies`` (blocking: call in a thread)."""

    def __init__(self, db: sa.Engine) -> None:
        self._db = db
        self._owed_sent: dict[int, int] = {}
        """Reply id -> when Telegram took it, for marks the store has not written yet."""
        self._owed_handled: dict[int, int] = {}
        """Update id -> when its command was answered, likewise."""
        self._owed = threading.Lock()

    def received(self, update_id: int, chat_id: int, payload: str, now: int) -> bool:
        """Write the command; False when this very update was handled already (Telegram gave
        it again). Telegram may reuse an update id after a quiet week, so a row under the same
        id with another payload is an older update: replaced."""
        t = mn.bot_inbox
        with translating("Saving a command failed"), self._db.begin() as conn:
            known = conn.execute(
                sa.select(t.c.payload, t.c.handled_at).where(t.c.update_id == update_id)
            ).first()
            if known is not None and known.payload == payload:
                return known.handled_at is None
            if known is not None:
                conn.execute(sa.delete(t).where(t.c.update_id == update_id))
            conn.execute(
                sa.insert(t).values(
                    update_id=update_id, chat_id=chat_id, payload=payload, received_at=now
                )
            )
            return True

    def reply(
        self, update_id: int, chat_id: int, text: str, markup: str | None, lane: str, now: int
    ) -> int:
        t = mn.bot_replies
        with translating("Saving a reply failed"), self._db.begin() as conn:
            row = conn.execute(
                sa.insert(t).values(
                    update_id=update_id,
                    chat_id=chat_id,
                    text=text,
                    markup=markup,
                    lane=lane,
                    created_at=now,
                )
            )
            return int(row.inserted_primary_key[0])  # type: ignore[index]

    def sent(self, reply_id: int, now: int) -> None:
        """Mark the reply sent, with every mark still owed; refused, it stays owed."""
        with self._owed:
            self._owed_sent[reply_id] = now
        self._write_owed("Marking a reply sent failed")

    def handled(self, update_id: int, now: int) -> None:
        """Mark the command handled, with every mark still owed; refused, it stays owed."""
        with self._owed:
            self._owed_handled[update_id] = now
        self._write_owed("Marking a command handled failed")

    def flush(self) -> None:
        """Write the marks still owed (none: nothing is asked of the store); refused, they stay
        owed for the next try."""
        if self.owed():
            self._write_owed("Writing the bot's owed marks failed")

    def owed(self) -> int:
        """Marks the store has not taken yet."""
        with self._owed:
            return len(self._owed_sent) + len(self._owed_handled)

    def _write_owed(self, failing: str) -> None:
        with self._owed:
            sent, handled = dict(self._owed_sent), dict(self._owed_handled)
        r, i = mn.bot_replies, mn.bot_inbox
        with translating(failing), self._db.begin() as conn:
            for reply_id, at in sent.items():
                conn.execute(sa.update(r).where(r.c.id == reply_id).values(sent_at=at))
            for update_id, at in handled.items():
                conn.execute(sa.update(i).where(i.c.update_id == update_id).values(handled_at=at))
        with self._owed:
            for reply_id in sent:
                self._owed_sent.pop(reply_id, None)
            for update_id in handled:
                self._owed_handled.pop(update_id, None)

    def unsent(self) -> list[StoredReply]:
        t = mn.bot_replies
        with self._db.connect() as conn:
            rows = conn.execute(sa.select(t).where(t.c.sent_at.is_(None)).order_by(t.c.id))
            return [
                StoredReply(r.id, r.update_id, r.chat_id, r.text, r.markup, r.lane, r.created_at)
                for r in rows
            ]

    def unhandled(self) -> list[StoredCommand]:
        t = mn.bot_inbox
        with self._db.connect() as conn:
            rows = conn.execute(
                sa.select(t).where(t.c.handled_at.is_(None)).order_by(t.c.update_id)
            )
            return [StoredCommand(r.update_id, r.chat_id, r.payload, r.received_at) for r in rows]

    def prune(self, now: int) -> None:
        cutoff = now - KEEP_MS
        i, r = mn.bot_inbox, mn.bot_replies
        with translating("Pruning the bot's records failed"), self._db.begin() as conn:
            conn.execute(sa.delete(i).where(i.c.handled_at.is_not(None), i.c.handled_at < cutoff))
            conn.execute(sa.delete(r).where(r.c.sent_at.is_not(None), r.c.sent_at < cutoff))


__all__ = ["CommandBook", "StoredCommand", "StoredReply"]
