"""Random garbage through the agent's boundary: whatever an agent answers,
the boundary either hands the engine intents it can act on — each an ``Intent`` for the view's
account and symbol with an action and a side, its entry a finite Decimal above zero and its stop
and target finite Decimals not below zero, its size in (0, 1], its confidence in [0, 1] — or
refuses with AgentFault naming the agent;
it never raises anything else."""

from __future__ import annotations

import math
from dataclasses import fields, replace
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rampart.agents.boundary import MAX_INTENTS, AgentFault, check_answer
from rampart.domain.intents import Intent, IntentAction
from rampart.domain.orders import Side

ACCOUNT, SYMBOL = "acct", "BTC/USDT"

numbers = st.one_of(
    st.decimals(allow_nan=True, allow_infinity=True),
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(-(10**6), 10**6),
    st.none(),
    st.text(max_size=5),
    st.booleans(),
)
good_price = st.decimals(min_value=Decimal("0.0001"), max_value=Decimal(10**6), places=4)


@st.composite
def sound(draw: st.DrawFn) -> Intent:
    opens = draw(st.booleans())
    return Intent(
        ACCOUNT,
        SYMBOL,
        Side.BUY if opens else Side.SELL,
        IntentAction.OPEN if opens else IntentAction.CLOSE,
        draw(good_price),
        draw(good_price),
        draw(good_price),
        draw(st.decimals(min_value=Decimal("0.01"), max_value=1, places=2)),
        draw(st.floats(0, 1)),
        draw(st.text(max_size=10)),
        "garbage",
        draw(st.integers(0, 10**13)),
    )


WRONG: dict[str, st.SearchStrategy[Any]] = {
    "account_id": st.sampled_from(["other", "", None]),
    "symbol": st.sampled_from(["ETH/USDT", "", 3]),
    "side": st.sampled_from([*Side, "buy", None]),
    "action": st.sampled_from([*IntentAction, "open", None]),
    "entry_price": numbers,
    "stop_loss": numbers,
    "take_profit": numbers,
    "size_hint": numbers,
    "confidence": numbers,
    "rationale": st.sampled_from([None, 1, b"x"]),
    "agent": st.sampled_from([None, 2.5]),
    "ts": st.sampled_from([None, 1.5, "0", True]),
}


@st.composite
def intents(draw: st.DrawFn) -> Intent:
    """A sound intent with none, one or a few of its fields turned to garbage."""
    intent = draw(sound())
    # Mostly one field wrong, so each check is what stands between it and the engine.
    one = st.sampled_from(sorted(WRONG)).map(lambda name: [name])
    wrong = draw(st.one_of(one, one, one, st.lists(st.sampled_from(sorted(WRONG)), max_size=3)))
    return replace(intent, **{name: draw(WRONG[name]) for name in wrong})


answers = st.one_of(
    st.none(),
    numbers,
    st.dictionaries(st.text(max_size=3), numbers, max_size=3),
    st.lists(intents(), max_size=4),
    st.tuples(intents()),
    st.lists(st.one_of(intents(), numbers), max_size=4),
    st.builds(lambda i, n: [i] * n, sound(), st.integers(MAX_INTENTS - 1, MAX_INTENTS + 2)),
    st.builds(iter, st.lists(intents(), max_size=2)),
    st.builds(
        lambda i: [SimpleNamespace(**{f.name: getattr(i, f.name) for f in fields(i)})], sound()
    ),
)


def _decimal(price: object, positive: bool) -> bool:
    return type(price) is Decimal and price.is_finite() and (price > 0 if positive else price >= 0)


def _sound(intent: object) -> bool:
    """The protocol, written out apart from the boundary's code."""
    if type(intent) is not Intent:
        return False
    if type(intent.action) is not IntentAction or type(intent.side) is not Side:
        return False
    confidence = intent.confidence
    return (
        (intent.account_id, intent.symbol) == (ACCOUNT, SYMBOL)
        and _decimal(intent.entry_price, True)
        and _decimal(intent.stop_loss, False)
        and _decimal(intent.take_profit, False)
        and _decimal(intent.size_hint, True)
        and intent.size_hint <= 1
        and type(confidence) in (float, int)
        and math.isfinite(confidence)
        and 0 <= confidence <= 1
        and type(intent.ts) is int
        and type(intent.rationale) is str
        and type(intent.agent) is str
    )


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow], database=None
)
@given(answers)
def test_garbage_is_refused_in_a_sentence_and_anything_passed_is_sound(answer: object) -> None:
    try:
        passed = check_answer("garbage", ACCOUNT, SYMBOL, answer)
    except AgentFault as fault:
        assert fault.sentence.startswith("agent garbage ")
        assert "\n" not in fault.sentence
        return
    assert type(passed) in (list, tuple) and len(passed) <= MAX_INTENTS
    assert all(_sound(i) for i in passed)


@settings(max_examples=100, deadline=None, database=None)
@given(st.lists(sound(), min_size=1, max_size=3))
def test_a_sound_answer_passes_whole(answer: list[Intent]) -> None:
    assert check_answer("garbage", ACCOUNT, SYMBOL, answer) is answer


@settings(max_examples=300, deadline=None, database=None)
@given(sound(), st.sampled_from(sorted(WRONG)).flatmap(lambda f: st.tuples(st.just(f), WRONG[f])))
def test_one_field_wrong_is_refused_exactly_when_unsound(
    intent: Intent, wrong: tuple[str, Any]
) -> None:
    changed = replace(intent, **{wrong[0]: wrong[1]})
    try:
        check_answer("garbage", ACCOUNT, SYMBOL, [changed])
    except AgentFault as fault:
        assert not _sound(changed), fault.sentence
    else:
        assert _sound(changed)
