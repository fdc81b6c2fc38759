"""Investor notices wired: the bus subscriber that makes them, the durable outbox that sends
them through the bot, the preferences ``/notify`` changes, and the facade's ways of
telling people about support tickets."""

from __future__ import annotations

from collections.abc import Callable

from rampart.clock import Clock
from rampart.notices.investor_notices import NoticeMaker, realised_of
from rampart.notices.money_notices import MoneyNotices
from rampart.notices.notify_prefs import NotifyPrefs
from rampart.notices.outbox import Outbox
from rampart.risk.restrictions import KILL_SWITCH, PAUSE
from rampart.telegram.bot import RampartBot
from rampart.wiring.session import TradingSession


def investor_outbox(session: TradingSession, bot: RampartBot, clock: Clock) -> Outbox:
    """The outbox for ``bot``'s investors, subscribed to the session's bus. ``clock`` paces the
    sends (wall time in a service, whatever the feed's speed)."""
    prefs = NotifyPrefs(session.db).load()
    marks = None if session.writer is None else session.writer.marks

    async def commit() -> None:
        async with bot.lock:  # the operator lock the candle loop trades under
            await session.checkpoint_off_loop()

    outbox = Outbox(
        session.db,
        clock,
        lambda: bot,
        prefs,
        trades_normally=trades_normally(bot),
        marks=marks,
        commit=commit,
    )
    accounts, venue = (lambda: list(session.engine.accounts)), session.engine.venue
    session.bus.subscribe(
        NoticeMaker(outbox.put, accounts, venue.instrument, realised_of(session.engine))
    )
    bot.notify_prefs = prefs
    bot.outbox = outbox
    # Support tickets go to the operator chat and their answers to the investor, from the
    # bot and the panel alike (the facade tells them).
    bot.operator.tell_people(outbox.put, bot.tell_operators)
    return outbox


def trades_normally(
    bot: RampartBot, loaded_at: Callable[[str], int | None] | None = None
) -> Callable[[str, int], bool | None]:
    """Whether an account trades normally now (no kill switch, pause, breaker or venue report);
    None for an account not known here.

    ``loaded_at`` (``rampart serve``): the business time of the account's state as the mirror
    last loaded it. The mirror has the kill switch and pauses at once (the operator's own
    actions), a breaker only with the workers' next checkpoint: a breaker counts once the
    loaded state is as new as the event the notice tells (before, the mirror may still show
    the very halt the notice lifts)."""

    def check(account_id: str, event_ms: int) -> bool | None:
        operator = bot.operator
        if not operator.is_running(account_id):
            return None
        found = operator.restrictions(account_id)
        if loaded_at is not None:
            at = loaded_at(account_id)
            if at is None or at < event_ms:
                found = tuple(r for r in found if r.cause in (KILL_SWITCH, PAUSE))
        return not found

    return check


def money_notices(
    session: TradingSession, bot: RampartBot | None, outbox: Outbox | None
) -> MoneyNotices:
    """Money that moved outside Rampart (reconciliation), subscribed to the session's bus: the
    investor told through ``outbox`` (an 'exchange' notice), the operator chat through ``bot``."""
    notices = MoneyNotices(lambda: bot, None if outbox is None else outbox.put)
    session.bus.subscribe(notices)
    return notices
