"""Whatever an agent answers or raises is refused at the engine's boundary, in a sentence naming
the agent and what it answered; after three faults in a row its account is paused with the
invariant ``agent``, and the engine and the other accounts go on.

The agent is a file beside the settings, as an operator's would be; without the boundary's checks
``None`` crashed the candle with TypeError, a float NaN crashed the risk check, and a Decimal
NaN size or a negative price was never refused."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from typer.testing import CliRunner

from rampart.agents import plugins
from rampart.agents.plugins import probe_candles
from rampart.cli.main import app
from rampart.clock import SimClock
from rampart.config import load_settings
from rampart.config.checks import check_settings
from rampart.domain.events import AgentFaulted, Event, InvariantViolated, KillSwitchChanged
from rampart.wiring.session import TradingSession
from tests.research.helpers import SHORT
from tests.trading.helpers import INSTRUMENT, SYMBOL

runner = CliRunner()

GARBAGE = '''
from decimal import Decimal

from rampart.agents.space import ParamSpace, choice_param
from rampart.domain.intents import Intent, IntentAction
from rampart.domain.orders import Side

KINDS = (
    "none", "float_nan", "decimal_nan", "negative", "raise", "exit", "other_account", "clean",
)


class Garbage:
    """Answers the same wrong thing on every bar."""

    name = "garbage"
    warmup = 0
    space = ParamSpace((choice_param("kind", "clean", KINDS),))

    def __init__(self, *, kind="clean"):
        self.kind = kind
        self.calls = 0

    def update(self, candle):
        pass

    def decide(self, view):
        self.calls += 1
        if self.kind == "clean" or self.calls < 5:  # passes the load probe, then turns
            return []
        entry = Decimal(str(view.candle.close))
        intent = dict(
            account_id=view.account_id, symbol=view.symbol, side=Side.BUY,
            action=IntentAction.OPEN, entry_price=entry, stop_loss=entry * Decimal("0.98"),
            take_profit=entry * Decimal("1.04"), agent=self.name, ts=view.ts,
        )
        if self.kind == "none":
            return None
        if self.kind == "raise":
            raise ValueError("the weights are gone")
        if self.kind == "exit":
            raise SystemExit(3)
        if self.kind == "float_nan":
            intent["entry_price"] = float("nan")
        elif self.kind == "decimal_nan":
            intent["size_hint"] = Decimal("NaN")
        elif self.kind == "negative":
            intent["stop_loss"] = Decimal("-5")
        elif self.kind == "other_account":
            intent["account_id"] = "someone-else"
        return [Intent(**intent)]
'''

SAID = {
    "none": "agent garbage answered None, not a list of intents",
    "float_nan": "agent garbage proposed entry_price=nan: prices are Decimal, not float",
    "decimal_nan": "agent garbage proposed size_hint=Decimal('NaN')",
    "negative": "agent garbage proposed stop_loss=-5: it must be finite and 0 or more",
    "raise": "agent garbage raised ValueError (the weights are gone) while deciding",
    "exit": "agent garbage raised SystemExit (3) while deciding",
    "other_account": "agent garbage proposed an intent for account 'someone-else'",
}


@pytest.fixture(autouse=True)
def _own_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(plugins, "_resolved", {})
    monkeypatch.chdir(tmp_path)
    (tmp_path / "garbage.py").write_text(GARBAGE, encoding="utf-8")


def _session(tmp_path: Path, kind: str, live: bool = False) -> TradingSession:
    path = tmp_path / "rampart.yaml"
    path.write_text(
        f"feed:\n  symbols: [{SYMBOL}]\naccounts:\n"
        f"  - {{id: bad, agent: 'garbage.py:Garbage', params: {{kind: {kind}}}}}\n"
        "  - {id: good, agent: trend}\n",
        encoding="utf-8",
    )
    settings = load_settings(path)
    check_settings(settings)
    return TradingSession(
        settings, SimClock(0), {SYMBOL: INSTRUMENT}, db_url=f"sqlite:///{tmp_path / 's.db'}",
        checkpoint_name="run", accounts=settings.accounts, checkpoint_every=10_000,
        ride_out_outages=live,  # live: a service's session, with decision deadlines
    )  # fmt: skip


async def _trade(session: TradingSession, bars: int) -> list[Event]:
    events: list[Event] = []
    session.bus.subscribe(events.append)
    await session.open()
    clock = session.clock
    assert isinstance(clock, SimClock)
    try:
        for candle in probe_candles(bars, 60_000, SYMBOL):
            clock.set(max(clock.now_ms(), candle.close_ts))
            await session.process(candle)
    finally:
        session.close()
    return events


@pytest.mark.parametrize("kind", sorted(SAID))
def test_a_wrong_answer_is_refused_and_three_in_a_row_pause_the_account(
    tmp_path: Path, kind: str
) -> None:
    session = _session(tmp_path, kind)
    events = asyncio.run(_trade(session, 120))
    assert session.engine.candles_seen == 120  # the run went on to the end
    faults = [e for e in events if isinstance(e, AgentFaulted)]
    # Refused three times in a row, each said in a sentence naming the agent and the answer;
    # then paused and no longer asked.
    assert [(f.account_id, f.in_a_row) for f in faults] == [("bad", 1), ("bad", 2), ("bad", 3)]
    assert all(SAID[kind] in f.sentence for f in faults), faults[0].sentence
    broken = [e for e in events if isinstance(e, InvariantViolated)]
    assert [(e.account_id, e.invariant) for e in broken] == [("bad", "agent")]
    assert SAID[kind] in broken[0].detail and "3 faults in a row" in broken[0].detail
    assert [(e.scope, e.actor) for e in events if isinstance(e, KillSwitchChanged)] == [
        ("bad", "agent")
    ]


def test_the_run_goes_on_and_why_says_what_the_agent_answered(tmp_path: Path) -> None:
    session = _session(tmp_path, "none")
    asyncio.run(_trade(session, 120))
    engine = session.engine
    assert engine.candles_seen == 120
    bad, good = engine.accounts["bad"], engine.accounts["good"]
    assert bad.paused and not good.paused
    codes = [(r.code, r.agent) for r in bad.rejections]
    assert codes == [("agent_answer", "garbage")] * 3
    assert bad.rejections[0].message.startswith(
        "Agent garbage answered None, not a list of intents; nothing was proposed"
    )


def test_a_clean_answer_between_faults_starts_the_count_again(tmp_path: Path) -> None:
    flip = GARBAGE.replace(
        'if self.kind == "none":', 'if self.kind == "none" and self.calls % 3:'
    )  # two faults, then a clean [] (the third call of every three), forever
    (tmp_path / "garbage.py").write_text(flip, encoding="utf-8")
    events = asyncio.run(_trade(_session(tmp_path, "none"), 120))
    faults = [e.in_a_row for e in events if isinstance(e, AgentFaulted)]
    assert faults and max(faults) == 2  # never three in a row
    assert not [e for e in events if isinstance(e, InvariantViolated)]


def test_replay_of_real_candles_goes_on_past_an_agent_answering_none(shared_data: Path) -> None:
    done = runner.invoke(
        app,
        ["replay", "--data", str(shared_data / SHORT), "--agent", "garbage.py:Garbage",
         "--param", "kind=none", "--no-chart"],
    )  # fmt: skip
    # The replay traded every candle and reports; the paused account is its broken invariant.
    assert done.exception is None or isinstance(done.exception, SystemExit), done.exception
    assert "Replay of XRP_ETH-5m.feather" in done.output, done.output
    assert "The replay broke 1 invariants" in done.output
    assert "Traceback" not in done.output and "TypeError" not in done.output


def test_in_a_service_the_agents_own_thread_answers_through_the_same_boundary(
    tmp_path: Path,
) -> None:
    session = _session(tmp_path, "none", live=True)
    assert session.engine.room.rules.deadline_for("garbage") == 1.0
    events = asyncio.run(_trade(session, 60))
    faults = [(e.kind, e.in_a_row) for e in events if isinstance(e, AgentFaulted)]
    assert faults == [("answer", 1), ("answer", 2), ("answer", 3)]
    assert session.engine.accounts["bad"].paused and not session.engine.accounts["good"].paused
