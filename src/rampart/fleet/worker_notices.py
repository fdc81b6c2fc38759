"""What a worker's shards tell investors, written for ``rampart serve`` to send.

Each shard's bus gets the notice makers ``rampart run`` subscribes: investor notices (entries,
exits, breakers, the kill switch) and money moved outside Rampart. Their messages go to the
worker's :class:`~rampart.notices.outbox_writer.OutboxWriter`, which writes them to
``notify_outbox``; the server holding the ops lease sends them. A worker has no bot, so the
operator chat's copy of a money notice goes the same way, as an ``operator`` row keyed by the
event (told once, whichever worker tells it), with the text ``rampart run`` sends.
"""

from __future__ import annotations

from rampart.fleet.shard import ShardTrader
from rampart.notices.investor_notices import NoticeMaker, realised_of
from rampart.notices.money_notices import MoneyNotices
from rampart.notices.outbox_writer import OutboxWriter


def tell_investors(trader: ShardTrader, writer: OutboxWriter) -> None:
    """Subscribe the shard's bus to the notice makers, writing to ``writer``."""
    session = trader.session
    engine = session.engine
    # Money notices wait for this shard's rows to be committed (a kill -9 in between).
    marks = None if session.writer is None else session.writer.marks
    session.bus.subscribe(
        NoticeMaker(
            writer.sink(marks),
            lambda: list(engine.accounts),
            engine.venue.instrument,
            realised_of(engine),
        )
    )
    session.bus.subscribe(MoneyNotices(lambda: None, writer.put, operators=writer.put))
