"""The bot of a service soak: the local Bot API stand-in on loopback (Telegram's shapes, its
refusals and flood limits on the wall clock), reached by ``rampart run`` through a TCP relay
the ``bot_cut`` fault closes; an investor linked to each of the soak's accounts, who sends the
bot a command every few wall seconds; and what reached their chats, matched against what the
service recorded to send them.

What the service recorded is read from its store while it runs (rows are pruned after a day of
its clock, and a store outage hides them for a while): the notices of its outbox
(``notify_outbox``) and the replies of its command book (``bot_replies``). The stand-in keeps
every call it accepted; a message the service recorded is delivered once when its chat got its
text once. Texts that recur in a chat (the same ``/help`` answered twice) are matched by count;
a reply that went again is found by matching each copy to the command it answers.
"""

from __future__ import annotations

import time
from collections import Counter, deque
from dataclasses import dataclass, field
from decimal import Decimal

import sqlalchemy as sa

from rampart.notices.investor_notices import OPERATOR, claims_normal
from rampart.operator import investors as inv_store
from rampart.store.migrate import upgrade_to_head
from rampart.store.models import notify as mn
from rampart.telegram.messenger import split_text
from rampart_testkit.botapi.shapes import TOKEN
from rampart_testkit.botapi.standin import FakeBotApi
from rampart_testkit.soak_service.evidence import Evidence, Message
from rampart_testkit.tcp_relay import TcpRelay

FIRST_INVESTOR = 7001
"""The Telegram user id of the first account's investor (the next account's is one more)."""
COMMANDS = ("/help", "/portfolio")
"""What the investors ask, in turn: a fixed answer and one read from their account's books."""
ASK_EVERY_S = 3.0
"""Wall seconds between two commands (the investors take turns)."""
SNAPSHOT_EVERY_S = 2.0
DRAIN_S = 90.0
"""At the end, how long the run waits (wall) for what the service recorded before it to be
sent: a backlog from a network cut goes at Telegram's one message a second per chat."""
TOKEN_ENV = "RAMPART_TELEGRAM_TOKEN"  # noqa: S105 - the setting's name, not a secret


@dataclass
class Recorded:
    """One message the service recorded for a chat, as last read from its store."""

    what: str
    chat: int
    text: str
    sent: bool
    withholdable: bool = False
    """A "trades normally again" notice: the outbox rightly drops it when it is no longer true."""
    update: int | None = None
    """For a reply, the update id of the command it answers."""


@dataclass
class SoakBot:
    accounts: list[str]
    api: FakeBotApi = field(default_factory=FakeBotApi)
    relay: TcpRelay | None = None
    asked: dict[int, str] = field(default_factory=dict)
    """Update id -> the command as the report names it (``<user> <text> #<update id>``)."""
    pushed: dict[int, tuple[int, int]] = field(default_factory=dict)
    """Update id -> (its chat, the calls the stand-in had accepted when it was sent)."""
    notices: dict[str, Recorded] = field(default_factory=dict)
    replies: dict[int, Recorded] = field(default_factory=dict)
    answered: Counter[int] = field(default_factory=Counter)
    """Update id -> replies the service recorded for it."""
    due: set[str] | None = None
    """What was recorded when the run's end began (None before): each must be sent by the end."""
    in_cut: set[str] = field(default_factory=set)
    """Messages seen unsent (``n:<key>``, ``r:<id>``) and commands sent (``c:<update id>``)
    while the relay was cut."""
    marks: list[tuple[int, str]] = field(default_factory=list)
    """(calls the stand-in had accepted, what happened then): the kills and the cut, to tell
    what a message sent twice went twice across."""
    drain_from: float = 0.0
    last_ask: float = 0.0
    last_snapshot: float = 0.0
    read_errors: int = 0

    @property
    def investors(self) -> dict[str, int]:
        return {a: FIRST_INVESTOR + i for i, a in enumerate(self.accounts)}

    async def start(self) -> None:
        await self.api.start()
        port = int(self.api.url.rsplit(":", 1)[1])
        self.relay = TcpRelay("127.0.0.1", port)
        for uid in self.investors.values():
            self.api.meet(uid)  # each wrote to the bot before the run: it may write to them

    async def close(self) -> None:
        if self.relay is not None and self.relay.open:
            self.relay.cut()
        await self.api.close()

    @property
    def url(self) -> str:
        port = 0 if self.relay is None else self.relay.port
        return f"http://127.0.0.1:{port}"

    def configure(self, settings: dict[str, object]) -> dict[str, str]:
        """The bot's section of the service's settings (long polling, at the relay); the token
        goes in the environment, as an operator passes a secret."""
        settings["telegram"] = {"api_url": self.url, "poll_timeout_s": 1}
        return {TOKEN_ENV: TOKEN}

    async def link(self, url: str) -> None:
        """Create the store and link each account to its investor (terms accepted, paper), as
        the operator's records hold an investor of an existing account."""
        db = sa.create_engine(url)
        try:
            upgrade_to_head(db)
            for account, uid in self.investors.items():
                investor = inv_store.Investor(
                    uid, account, accepted_disclaimer=True, capital=Decimal(10000), mode="paper"
                )
                await inv_store.save(db, investor)
        finally:
            db.dispose()

    def ask(self, now_s: float) -> None:
        """The next investor in turn sends the next command, every :data:`ASK_EVERY_S`."""
        if self.due is not None or now_s - self.last_ask < ASK_EVERY_S:
            return
        self.last_ask = now_s
        n = len(self.asked)
        uids = list(self.investors.values())
        uid, text = uids[n % len(uids)], COMMANDS[(n // len(uids)) % len(COMMANDS)]
        update_id = self.api.push_text(uid, text)
        self.asked[update_id] = f"{uid} {text} #{update_id}"
        self.pushed[update_id] = (uid, len(self.api.calls))
        if self.cut:
            self.in_cut.add(f"c:{update_id}")

    def mark(self, what: str) -> None:
        self.marks.append((len(self.api.calls), what))

    @property
    def cut(self) -> bool:
        return self.relay is not None and not self.relay.open

    def snapshot(self, db: sa.Engine, now_s: float, *, force: bool = False) -> None:
        """Read what the service recorded (a failed read waits for the next one)."""
        if not force and now_s - self.last_snapshot < SNAPSHOT_EVERY_S:
            return
        self.last_snapshot = now_s
        try:
            self._read(db)
        except sa.exc.SQLAlchemyError:
            self.read_errors += 1
            return
        if self.cut:
            self.in_cut.update(k for k in self._keys() if not self._entry(k).sent)

    def _read(self, db: sa.Engine) -> None:
        chats = self.investors
        o, r = mn.notify_outbox.c, mn.bot_replies.c
        with db.connect() as conn:
            notices = conn.execute(sa.select(o.key, o.account_id, o.kind, o.text, o.sent_at)).all()
            replies = conn.execute(sa.select(r.id, r.update_id, r.chat_id, r.text, r.sent_at)).all()
        for key, account, kind, text, sent_at in notices:
            chat = chats.get(str(account))
            if kind == OPERATOR or chat is None:
                continue  # the operator chat's copy; an account no investor owns
            first = split_text(str(text))[0]
            self.notices[str(key)] = Recorded(
                f"notice {key}", chat, first, sent_at is not None, claims_normal(str(key))
            )
        for row in replies:
            rid, update_id, chat_id = int(str(row[0])), int(str(row[1])), int(str(row[2]))
            if rid not in self.replies:
                self.answered[update_id] += 1
            asked = self.asked.get(update_id, f"update {update_id}")
            self.replies[rid] = Recorded(
                f"reply {rid} to {asked}",
                chat_id,
                str(row[3]),
                row[4] is not None,
                update=update_id,
            )

    def settled(self, db: sa.Engine, now_s: float) -> bool:
        """Whether the run may end: everything recorded before its end began was sent and every
        command answered, or :data:`DRAIN_S` passed (what is left then is judged lost)."""
        self.snapshot(db, now_s, force=self.due is None)
        if self.due is None:
            self.due = set(self._keys())
            self.drain_from = now_s
        sent = all(self._entry(k).sent for k in self.due)
        return (sent and self._all_answered()) or now_s - self.drain_from >= DRAIN_S

    def _all_answered(self) -> bool:
        """Every command has a reply recorded, or its chat got one unrecorded after it."""
        if all(self.answered[u] > 0 for u in self.asked):
            return True
        every = [self._entry(k) for k in self._keys()]
        times = deliveries([(m.chat, m.text) for m in every], self._sent())
        unkept = self._answered_unkept(every, times)
        return all(self.answered[u] > 0 or u in unkept for u in self.asked)

    def _keys(self) -> list[str]:
        return [f"n:{k}" for k in self.notices] + [f"r:{k}" for k in self.replies]

    def _entry(self, key: str) -> Recorded:
        kind, _, name = key.partition(":")
        return self.notices[name] if kind == "n" else self.replies[int(name)]

    def collect(self, db_url: str, ev: Evidence, cut_s: float | None) -> None:
        """The evidence: each message recorded before the end began, or sent, with the times
        its chat got it; each command with its replies."""
        db = sa.create_engine(db_url)
        try:
            self.snapshot(db, time.monotonic(), force=True)
        finally:
            db.dispose()
        due = self.due or set()
        judged = [(k, self._entry(k)) for k in self._keys() if k in due or self._entry(k).sent]
        times = deliveries([(m.chat, m.text) for _, m in judged], self._sent())
        unkept = self._answered_unkept([m for _, m in judged], times)
        resent, explained = self._resent([m for _, m in judged], times)
        messages = []
        once = {f"c:{u}" for u in self.asked if self.answered[u] > 0 or u in unkept}
        for (key, m), n in zip(judged, times, strict=True):
            if n == 0 and m.withholdable and m.sent:
                ev.withheld += 1
                self.in_cut.discard(key)
            else:
                messages.append(Message(m.what, m.chat, n))
                once.update([key] if n == 1 else [])
        ev.in_cut = (len(self.in_cut & once), len(self.in_cut))
        ev.notes += resent + self._across([m for _, m in judged], times, explained)
        ev.messages = messages
        ev.commands = {
            label: self.answered[u] or int(u in unkept) for u, label in self.asked.items()
        }
        ev.answers_unkept = len(unkept)
        ev.bot_cut_s = cut_s
        left = len(self._keys()) - len(judged)
        if left:
            ev.notes.append(
                f"{left} investor messages recorded after the end began were still "
                "queued at the stop (kept for the next start; not judged)"
            )
        if self.api.refused:
            said = sorted({d for _, _, d in self.api.refused})
            ev.notes.append(
                f"the Bot API stand-in refused {len(self.api.refused)} calls: "
                + "; ".join(said[:5])
            )
        if self.read_errors:
            ev.notes.append(
                f"{self.read_errors} reads of the service's messages failed "
                "(the store was down); the next read caught up"
            )

    def _sent(self) -> Counter[tuple[int, str]]:
        """(chat, text) -> how many times the stand-in accepted it (sendMessage)."""
        return Counter({item: len(at) for item, at in self._copies().items()})

    def _copies(self) -> dict[tuple[int, str], list[int]]:
        """(chat, text) -> the positions of its accepted sendMessage calls, in order."""
        copies: dict[tuple[int, str], list[int]] = {}
        for i, (method, p) in enumerate(self.api.calls):
            if method == "sendMessage":
                item = (int(p.get("chat_id", 0)), str(p.get("text", "")))
                copies.setdefault(item, []).append(i)
        return copies

    def _answered_unkept(self, judged: list[Recorded], times: list[int]) -> set[int]:
        """Commands the service recorded no reply for whose chat got, after they were sent, a
        message nobody recorded: a reply sent while the store was down (the bot could not keep
        the command, so neither its reply). They were answered; that copy is no repeat of
        another message's, so it is taken off the one it was counted to (``times``)."""
        expected = Counter((m.chat, m.text) for m in judged)
        holder = {(m.chat, m.text): j for j, m in enumerate(judged)}  # the one given a surplus
        spare: dict[int, list[tuple[int, tuple[int, str]]]] = {}
        for item, at in self._copies().items():
            spare.setdefault(item[0], []).extend((i, item) for i in at[expected[item] :])
        found: set[int] = set()
        for u in sorted(self.asked):
            chat, since = self.pushed.get(u, (0, 0))
            pick = min((s for s in spare.get(chat, []) if s[0] >= since), default=None)
            if self.answered[u] > 0 or pick is None:
                continue
            spare[chat].remove(pick)
            found.add(u)
            if pick[1] in holder:
                times[holder[pick[1]]] -= 1
        return found

    def _resent(self, judged: list[Recorded], times: list[int]) -> tuple[list[str], set[int]]:
        """Replies sent more than once, found where they went again: each copy of a chat's
        reply text answers the oldest command still waiting for it that was sent before the
        copy; a copy with none waiting repeats the one before it. Its surplus moves there from
        the last reply of that text (where :func:`deliveries` put it), and a note says what
        happened between the two copies. Returns the notes and the replies they explain."""
        notes: list[str] = []
        explained: set[int] = set()
        copies = self._copies()
        for j, m in enumerate(judged):
            if times[j] < 2 or m.update is None:
                continue
            item = (m.chat, m.text)
            asks = sorted(
                (self.pushed.get(r.update, (0, 0))[1], i)
                for i, r in enumerate(judged)
                if (r.chat, r.text) == item and r.update is not None
            )
            waiting: deque[int] = deque()
            k, last = 0, None
            for c in copies[item]:
                while k < len(asks) and asks[k][0] <= c:
                    waiting.append(asks[k][1])
                    k += 1
                if waiting:
                    last = (waiting.popleft(), c)
                    continue
                if last is None or times[j] < 2:
                    continue
                times[j] -= 1
                times[last[0]] += 1
                explained.add(last[0])
                notes.append(
                    f"{judged[last[0]].what} went again; between its copy and the next: "
                    + self._between(last[1], c)
                )
                last = (last[0], c)
        return notes, explained

    def _between(self, first: int, then: int) -> str:
        """What was planted between two of the stand-in's calls."""
        return ", ".join(w for i, w in self.marks if first < i <= then) or "nothing planted"

    def _across(self, judged: list[Recorded], times: list[int], explained: set[int]) -> list[str]:
        """For each other message that went more than once, what happened between the copy it
        was owed and the next (a kill, the cut), as a note."""
        notes = []
        expected = Counter((m.chat, m.text) for m in judged)
        copies = self._copies()
        for j, (m, n) in enumerate(zip(judged, times, strict=True)):
            if n < 2 or j in explained:
                continue
            k = expected[(m.chat, m.text)]  # the surplus sits on the last of its text
            at = copies[(m.chat, m.text)][k - 1 : k + 1]
            notes.append(
                f"{m.what} went {n} times; between the copy it was owed and the next: "
                + self._between(at[0], at[1])
            )
        return notes


def deliveries(expected: list[tuple[int, str]], sent: Counter[tuple[int, str]]) -> list[int]:
    """How many times each expected (chat, text) arrived, from the count of each that the chat
    got: the same text expected k times and got n times is once each for the first ones, the
    surplus on the last (a duplicate), or nothing for the last ones (lost)."""
    left = Counter(sent)
    remaining = Counter(expected)
    out = []
    for item in expected:
        remaining[item] -= 1
        # The last one expected takes what is left: a surplus is a repeat.
        n = left[item] if remaining[item] == 0 else min(left[item], 1)
        left[item] -= n
        out.append(n)
    return out


__all__ = ["COMMANDS", "SoakBot", "deliveries"]
