"""The agent's boundary: whatever an agent answers or raises becomes intents the engine can
trust, or a refusal in one sentence naming the agent and what it answered.

An agent is untrusted code (DESIGN §4, docs/authors/agents.md). Before anything it proposes
reaches the risk engine, :func:`check_answer` holds it to the protocol: a list (or tuple) of at
most :data:`MAX_INTENTS` ``Intent`` objects, each for the account and symbol of the view it was
asked with, with an action and a side, its prices and size ``Decimal``, finite and in range, its
confidence a finite number in [0, 1]. The first thing wrong refuses the whole answer
(:class:`AgentFault`): half an answer is not what the agent meant. What the engine *can* act on
but should not — a short on a spot account, a missing or misplaced bracket, a size past the
profile's — is the risk engine's to refuse, with its reason code, as for any agent.

Pure: no I/O and no clock. The engine's side (the deadline, counting faults in a row, pausing
an account) is ``rampart.trading.agent_room``; the optional callbacks pass their answers through
the same checks (:func:`check_intent`, :func:`shown`, :func:`raised`).
"""

from __future__ import annotations

import math
import reprlib
from collections.abc import Sequence
from decimal import Decimal

from rampart.domain.intents import Intent, IntentAction
from rampart.domain.money import ONE, ZERO
from rampart.domain.orders import Side

MAX_INTENTS = 16
"""Intents one decision may propose: more is a runaway loop, not a plan."""
_SHOWN = reprlib.Repr()
_SHOWN.maxstring = 40
_SHOWN.maxother = 40
_SCALARS = (type(None), bool, int, float, str, Decimal)


ANSWER = "answer"
RAISED = "raised"
OVERRAN = "overran"
"""The kinds of fault: an answer refused, an exception, a decision past its deadline."""


class AgentFault(Exception):
    """A decision the boundary refused; ``sentence`` says which agent did what."""

    def __init__(self, sentence: str, kind: str = ANSWER) -> None:
        super().__init__(sentence)
        self.sentence = sentence
        self.kind = kind


def shown(value: object) -> str:
    """A value an agent handed over, in a few characters: a plain value by its repr (cut short),
    anything else by its type alone, since its ``__repr__`` is the agent's code and may hang."""
    if type(value) in _SCALARS:
        return _SHOWN.repr(value)
    return f"a {type(value).__name__}"


def raised(agent: str, exc: BaseException, doing: str) -> str:
    """The sentence for an agent that raised ``exc`` while ``doing``."""
    try:
        text = str(exc).strip().rstrip(".")[:120]
    except Exception:  # an exception whose __str__ raises is the agent's too
        text = ""
    said = f"{type(exc).__name__} ({text})" if text else type(exc).__name__
    return f"agent {agent} raised {said} while {doing}"


def check_answer(agent: str, account_id: str, symbol: str, answer: object) -> Sequence[Intent]:
    """``answer`` when it is a valid decision for ``account_id`` on ``symbol``; AgentFault
    otherwise. An empty list (most decisions) returns at the first test."""
    if type(answer) is list or type(answer) is tuple:
        if not answer:
            return answer
    else:
        raise AgentFault(f"agent {agent} answered {shown(answer)}, not a list of intents")
    if len(answer) > MAX_INTENTS:
        raise AgentFault(
            f"agent {agent} answered {len(answer)} intents; one decision may propose at most "
            f"{MAX_INTENTS}"
        )
    for intent in answer:
        check_intent(agent, account_id, symbol, intent)
    return answer


def check_intent(agent: str, account_id: str, symbol: str, intent: object) -> Intent:
    """``intent`` when the engine may act on it for ``account_id`` on ``symbol``; AgentFault
    naming the first field that is wrong otherwise."""
    if type(intent) is not Intent:
        raise AgentFault(f"agent {agent} answered {shown(intent)} among its intents, not an Intent")
    if intent.account_id != account_id:
        raise AgentFault(
            f"agent {agent} proposed an intent for account {shown(intent.account_id)} when "
            f"asked for {account_id!r}"
        )
    if intent.symbol != symbol:
        raise AgentFault(
            f"agent {agent} proposed an intent on {shown(intent.symbol)} when asked about {symbol}"
        )
    action, side = intent.action, intent.side
    if type(action) is not IntentAction or type(side) is not Side:
        raise AgentFault(
            f"agent {agent} proposed action {shown(action)} with side {shown(side)}: an intent "
            "has an IntentAction (OPEN, CLOSE, MOVE, REDUCE, ADD) and a Side (BUY, SELL)"
        )
    # Which pairs trade (a spot account opens only with a buy) and whether the bracket is there
    # and on the right side are the risk engine's to say, with its reason: not faults.
    _price(agent, "entry_price", intent.entry_price, positive=True)
    _price(agent, "stop_loss", intent.stop_loss, positive=False)
    _price(agent, "take_profit", intent.take_profit, positive=False)
    size = intent.size_hint
    if type(size) is not Decimal or not size.is_finite() or not ZERO < size <= ONE:
        raise AgentFault(
            f"agent {agent} proposed size_hint={shown(size)}: it must be a Decimal above 0 "
            "and at most 1"
        )
    confidence = intent.confidence
    if (
        type(confidence) not in (float, int)
        or not math.isfinite(confidence)
        or not 0 <= confidence <= 1
    ):
        raise AgentFault(
            f"agent {agent} proposed confidence={shown(confidence)}: it must be a number "
            "from 0 to 1"
        )
    if type(intent.rationale) is not str or type(intent.agent) is not str:
        raise AgentFault(f"agent {agent} proposed a rationale or agent name that is not text")
    if type(intent.ts) is not int:
        raise AgentFault(f"agent {agent} proposed ts={shown(intent.ts)}, not a whole number of ms")
    return intent


def _price(agent: str, name: str, value: object, *, positive: bool) -> None:
    if type(value) is not Decimal:
        raise AgentFault(
            f"agent {agent} proposed {name}={shown(value)}: prices are Decimal, not "
            f"{type(value).__name__}"
        )
    if not value.is_finite() or value < ZERO or (positive and value == ZERO):
        need = "above 0" if positive else "0 or more"
        raise AgentFault(f"agent {agent} proposed {name}={value}: it must be finite and {need}")
