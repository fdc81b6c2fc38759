"""The service soak's bot evidence: what the service recorded for the investors (its outbox's
notices, its commands' replies, read from its store) matched against what the Bot API stand-in
accepted; a duplicate after a kill, a lost notice or an unanswered command turns the judge's
line to FAIL, and a "trades normally" notice the outbox rightly withheld does not."""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from rampart.store.models import notify as mn
from rampart_testkit.soak_service.bot import DRAIN_S, SoakBot, deliveries
from rampart_testkit.soak_service.evidence import Evidence
from rampart_testkit.soak_service.faults import BOT_CUT_S, bot_cut_wall_s
from rampart_testkit.soak_service.judge import messages
from rampart_testkit.tcp_relay import TcpRelay

BOUGHT = "🟢 <b>Bought</b> 0.01 BTC at 60,000 USDT"
SOLD = "🔴 <b>Sold</b> 0.01 BTC at 60,100 USDT"
HELP = "<b>Commands</b>\n/portfolio"


def test_each_expected_message_takes_one_of_its_chat_s_copies_and_the_last_any_surplus() -> None:
    expected = [(1, "a"), (1, "a"), (2, "b"), (1, "c")]
    assert deliveries(expected, Counter({(1, "a"): 2, (2, "b"): 1, (1, "c"): 1})) == [1, 1, 1, 1]
    assert deliveries(expected, Counter({(1, "a"): 3, (2, "b"): 1, (1, "c"): 1})) == [1, 2, 1, 1]
    assert deliveries(expected, Counter({(1, "a"): 1, (1, "c"): 1})) == [1, 0, 0, 1]
    # The same text in another chat is not this chat's copy.
    assert deliveries([(1, "b")], Counter({(2, "b"): 1})) == [0]


def _store(tmp: Path) -> tuple[SoakBot, str]:
    bot = SoakBot(["sim-1", "sim-2"])
    url = f"sqlite:///{tmp / 'service.db'}"
    asyncio.run(bot.link(url))  # the schema, and an investor for each account
    db = sa.create_engine(url)
    with db.begin() as conn:
        conn.execute(
            sa.insert(mn.notify_outbox),
            [
                _notice("fill|sim-1|b1|1000", "sim-1", BOUGHT),
                _notice("fill|sim-2|s1|2000", "sim-2", SOLD),
                # Told while the account was active, no longer true when it left: withheld.
                _notice("state|sim-2|active|3000", "sim-2", "✅ Your account trades normally."),
            ],
        )
        conn.execute(
            sa.insert(mn.bot_replies),
            [
                {
                    "update_id": 101,
                    "chat_id": 7001,
                    "text": HELP,
                    "lane": "reply",
                    "created_at": 1,
                    "sent_at": 2,
                }
            ],
        )
    db.dispose()
    bot.asked = {101: "7001 /help #1", 102: "7002 /portfolio #2"}
    return bot, url


def _notice(key: str, account: str, text: str) -> dict[str, Any]:
    return {"key": key, "account_id": account, "kind": "trade", "text": text, "created_at": 1}


def _sent(bot: SoakBot, chat: int, text: str) -> None:
    bot.api.calls.append(("sendMessage", {"chat_id": chat, "text": text, "parse_mode": "HTML"}))


def _mark_all_sent(url: str) -> None:
    db = sa.create_engine(url)
    with db.begin() as conn:
        conn.execute(sa.update(mn.notify_outbox).values(sent_at=5))
    db.dispose()


def _judged(bot: SoakBot, url: str) -> tuple[Evidence, str, bool | None]:
    ev = Evidence(hours=1)
    bot.collect(url, ev, 7.5)
    line = messages(ev)
    return ev, line.value, line.passed


def test_what_the_service_recorded_and_the_chats_got_once_passes(tmp_path: Path) -> None:
    bot, url = _store(tmp_path)
    _mark_all_sent(url)
    _sent(bot, 7001, BOUGHT)
    _sent(bot, 7001, HELP)
    _sent(bot, 7002, SOLD)
    _sent(bot, 7002, "Your portfolio: …")  # a reply recorded after the run's end: not judged
    bot.answered[102] = 1
    ev, value, passed = _judged(bot, url)
    assert ev.withheld == 1 and ev.bot_cut_s == 7.5
    assert ev.commands == {"7001 /help #1": 1, "7002 /portfolio #2": 1}
    assert passed is True, value
    assert value.startswith("3/3 delivered exactly once (2 notices, 1 replies); 2/2 commands")


def test_a_notice_delivered_twice_across_a_kill_fails_the_line(tmp_path: Path) -> None:
    bot, url = _store(tmp_path)
    _mark_all_sent(url)
    _sent(bot, 7001, BOUGHT)
    bot.mark("the planted kill of pid 42")
    for text in (BOUGHT, HELP):
        _sent(bot, 7001, text)
    _sent(bot, 7002, SOLD)
    bot.answered[102] = 1
    ev, value, passed = _judged(bot, url)
    assert passed is False
    assert "1 sent more than once: notice fill|sim-1|b1|1000 (2×)" in value
    # The note says what came between the two copies.
    assert (
        "notice fill|sim-1|b1|1000 went 2 times; between the copy it was owed and the next: "
        "the planted kill of pid 42"
    ) in ev.notes, ev.notes


def test_a_reply_sent_again_is_named_where_it_went_again_not_on_the_last_of_its_text(
    tmp_path: Path,
) -> None:
    """/help is answered with the same text each time: the copy that repeats is the one that
    came with no command waiting for it, and the note names the kill between it and the one
    before, not what came between the last two copies of that text."""
    bot, url = _store(tmp_path)
    _mark_all_sent(url)
    db = sa.create_engine(url)
    with db.begin() as conn:
        reply = {"update_id": 103, "chat_id": 7001, "text": HELP, "lane": "reply"}
        conn.execute(sa.insert(mn.bot_replies), [{**reply, "created_at": 9, "sent_at": 10}])
    db.dispose()
    bot.asked[103] = "7001 /help #103"
    bot.answered[102] = 1
    bot.pushed = {101: (7001, 0), 102: (7002, 0)}
    _sent(bot, 7001, BOUGHT)
    _sent(bot, 7001, HELP)  # #101's answer
    bot.mark("the planted kill of pid 42")
    _sent(bot, 7001, HELP)  # #101's again, after the kill
    _sent(bot, 7002, SOLD)
    bot.pushed[103] = (7001, len(bot.api.calls))
    bot.mark("the bot's network cut")
    _sent(bot, 7001, HELP)  # #103's answer
    ev, value, passed = _judged(bot, url)
    assert passed is False
    assert "1 sent more than once: reply 1 to 7001 /help #1 (2×)" in value, value
    assert (
        "reply 1 to 7001 /help #1 went again; between its copy and the next: "
        "the planted kill of pid 42"
    ) in ev.notes, ev.notes
    assert not any("#103" in n for n in ev.notes), ev.notes
    # Each answered once: the line passes, and no note is left.
    bot.api.calls.pop(2)
    ev, value, passed = _judged(bot, url)
    assert passed is True and ev.notes == [], (value, ev.notes)


def test_a_notice_never_delivered_and_a_command_never_answered_fail_the_line(
    tmp_path: Path,
) -> None:
    bot, url = _store(tmp_path)
    _mark_all_sent(url)  # the outbox marked it sent (refused, say), but the chat never got it
    _sent(bot, 7001, BOUGHT)
    _sent(bot, 7001, HELP)
    _, value, passed = _judged(bot, url)
    assert passed is False
    assert "1 never sent: notice fill|sim-2|s1|2000" in value
    assert "1 commands unanswered: 7002 /portfolio #2" in value


def test_a_command_answered_while_the_store_was_down_is_answered_not_a_repeat(
    tmp_path: Path,
) -> None:
    """The bot could not keep the command (the store was down), so its reply went unrecorded:
    the chat's next unrecorded message after the command is its answer, even when it repeats
    another reply's text; a command sent after that message is not answered by it."""
    bot, url = _store(tmp_path)
    _mark_all_sent(url)
    bot.asked[103] = "7001 /help #103"
    bot.pushed = {101: (7001, 0), 102: (7002, 0), 103: (7001, 2)}
    for text in (BOUGHT, HELP, HELP):  # the second /help answer is #103's, unrecorded
        _sent(bot, 7001, text)
    _sent(bot, 7002, SOLD)
    ev, value, passed = _judged(bot, url)
    assert passed is False  # #102 got nothing
    assert ev.answers_unkept == 1 and "sent more than once" not in value, value
    assert "1 commands unanswered: 7002 /portfolio #2" in value
    assert "2/3 commands answered (1 by a reply sent unrecorded, the store being down)" in value
    _sent(bot, 7002, "Your portfolio: …")
    ev, value, passed = _judged(bot, url)
    assert passed is True and ev.answers_unkept == 2, value
    bot.pushed[104] = (7001, len(bot.api.calls))
    bot.asked[104] = "7001 /help #104"
    _, value, passed = _judged(bot, url)
    assert passed is False and "1 commands unanswered: 7001 /help #104" in value


def test_the_end_waits_for_what_was_recorded_and_for_every_command_s_answer(
    tmp_path: Path,
) -> None:
    bot, url = _store(tmp_path)
    bot.pushed = {101: (7001, 0), 102: (7002, 0)}
    db = sa.create_engine(url)
    assert bot.settled(db, 0.0) is False  # the notices are unsent, #102 unanswered
    _mark_all_sent(url)
    bot.last_snapshot = -10.0
    assert bot.settled(db, 1.0) is False  # #102 still unanswered
    _sent(bot, 7002, "Your portfolio: …")  # answered, the store being down: not recorded
    assert bot.settled(db, 2.0) is True
    db.dispose()


def test_the_end_stops_waiting_after_its_bound(tmp_path: Path) -> None:
    bot, url = _store(tmp_path)
    db = sa.create_engine(url)
    assert bot.settled(db, 0.0) is False
    assert bot.settled(db, DRAIN_S) is True
    db.dispose()


def test_a_notice_still_unsent_when_the_end_began_is_lost_one_recorded_after_is_not_judged(
    tmp_path: Path,
) -> None:
    bot, url = _store(tmp_path)
    bot.answered[102] = 1
    db = sa.create_engine(url)
    assert bot.settled(db, 0.0) is False  # the end begins: all three notices are due, unsent
    with db.begin() as conn:
        conn.execute(sa.insert(mn.notify_outbox), [_notice("fill|sim-1|b2|4000", "sim-1", SOLD)])
    db.dispose()
    _sent(bot, 7001, HELP)
    ev, value, passed = _judged(bot, url)
    assert passed is False
    assert "3 never sent" in value, value  # the withheld one was never marked done either
    assert any("still queued at the stop" in n for n in ev.notes), ev.notes


def test_what_waited_out_the_network_cut_is_counted_and_judged_once_after_it(
    tmp_path: Path,
) -> None:
    bot, url = _store(tmp_path)
    bot.relay = TcpRelay("127.0.0.1", 9)  # nothing listens behind it: only open or cut matters
    bot.relay.cut()
    db = sa.create_engine(url)
    bot.snapshot(db, 100.0)  # the three notices recorded, unsent, while the bot is cut off
    bot.last_ask = -10.0
    bot.ask(0.0)  # an investor writes meanwhile: the stand-in holds it
    bot.relay.restore()
    [asked] = [u for u in bot.asked if u not in (101, 102)]
    with db.begin() as conn:  # the bot fetched it after the cut and recorded its answer
        reply = {"update_id": asked, "chat_id": 7001, "text": HELP, "lane": "reply"}
        conn.execute(sa.insert(mn.bot_replies), [{**reply, "created_at": 3, "sent_at": 4}])
    db.dispose()
    _mark_all_sent(url)
    for text in (BOUGHT, HELP, HELP):  # /help answered twice: for #101 and for the new one
        _sent(bot, 7001, text)
    _sent(bot, 7002, SOLD)
    bot.answered[102] = 1
    ev, value, passed = _judged(bot, url)
    assert passed is True, value
    # Two notices and the command (the withheld notice is not counted).
    assert ev.in_cut == (3, 3)
    assert "3/3 that waited out the bot's network cut went once after it" in value
    _sent(bot, 7002, SOLD)  # the stand-in took the sale again after the cut: a duplicate
    ev, value, passed = _judged(bot, url)
    assert passed is False and ev.in_cut == (2, 3), value
    bot.relay.cut()


def test_the_bot_cut_lasts_a_minute_on_a_day_and_a_share_of_a_short_run() -> None:
    assert bot_cut_wall_s(24, 120) == BOT_CUT_S
    assert bot_cut_wall_s(1, 45) == 10.0
    assert bot_cut_wall_s(0.01, 120) == 5.0
