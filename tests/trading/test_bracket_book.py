"""The bracket book's own parts, one by one (the bracket mutation area): the rule
the transition table is built from, a bracket's record and its way back, what a checkpoint
leaves out, and the small reads (``in``, ``state``, ``refusal``) on a symbol it does not know.

The table is built once, when the module is imported; these tests build it again from its rule
and name the rows it must have, so a change to the rule cannot pass unseen."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rampart.trading import bracket as bracket_module
from rampart.trading.bracket import (
    TRANSITIONS,
    BracketBook,
    BracketState,
    GuardedView,
    PositionBracket,
    Refusal,
)

S = BracketState
HOLDING = {
    S.PLACED_HELD, S.PARTIAL, S.GROWING, S.CANCEL_PENDING, S.REFUSED, S.TARGET_FILLING,
    S.MONITOR, S.MOVING, S.REDUCING, S.ADDING,
}  # fmt: skip
"""The states in which the monitor holds the position, named one by one."""


def test_the_table_is_the_rule_built_again_and_its_rows_are_the_designs() -> None:
    for source in BracketState:
        assert bracket_module._allowed(source) == TRANSITIONS[source], source
    assert {s for s in BracketState if s.guarded} == HOLDING
    # A closed bracket: any state that holds the monitor, or a new position; never a pair.
    assert TRANSITIONS[S.CLOSED] == frozenset(HOLDING | {S.CLOSED, S.NEW})
    # Not held: a pair sent or seen resting, the monitor, or closed; never NEW again.
    for source in (S.NEW, S.PLACED, S.RESTING):
        assert TRANSITIONS[source] == frozenset(HOLDING | {S.CLOSED, S.RESTING, S.PLACED})
    # Held: the monitor lets go only at a resting pair or a flat position.
    for source in HOLDING:
        assert TRANSITIONS[source] == frozenset(HOLDING | {S.CLOSED, S.RESTING}), source


refusals = st.builds(
    Refusal,
    st.decimals(min_value=Decimal("0.001"), max_value=Decimal(10), places=3),
    st.integers(1, 9),
    st.integers(0, 64),
    st.text("abc-0123", min_size=1, max_size=8),
    st.booleans(),
)
brackets = st.builds(
    PositionBracket,
    st.sampled_from(list(BracketState)),
    st.none() | refusals,
    st.none() | st.tuples(st.integers(0, 2**41), st.integers(1, 3)),
    st.none() | st.tuples(st.text("e-0123", min_size=1, max_size=6), st.integers(0, 2)),
    st.none() | st.integers(0, 2**41),
)


@given(brackets)
def test_a_bracket_comes_back_from_its_record_field_by_field(b: PositionBracket) -> None:
    data = b.to_dict()
    assert set(data) == {"state", "refusal", "tries", "steps", "short_since"}
    back = PositionBracket.from_dict(data)
    assert back == b
    assert back.refusal == b.refusal  # its due flag too


def test_a_record_spells_each_field() -> None:
    b = PositionBracket(
        S.REFUSED, Refusal(Decimal("0.5"), 2, 1, "g-1", True), (60_000, 2), ("e-1", 1), 1_234
    )
    assert b.to_dict() == {
        "state": "refused",
        "refusal": ["0.5", 2, 1, "g-1", True],
        "tries": [60_000, 2],
        "steps": ["e-1", 1],
        "short_since": 1_234,
    }
    back = PositionBracket.from_dict(b.to_dict())
    assert back.tries == (60_000, 2) and back.short_since == 1_234
    assert back.refusal is not None and back.refusal.due is True


def test_the_guarded_view_refuses_in_words() -> None:
    view = GuardedView()
    with pytest.raises(TypeError, match=r"^guarded follows the brackets' states: move the"):
        view.add("BTC/USDT")


def test_reads_of_a_symbol_the_book_does_not_know() -> None:
    book = BracketBook()
    assert "BTC/USDT" not in book
    assert book.state("BTC/USDT") is None
    assert book.refusal("BTC/USDT") is None
    book.of("BTC/USDT")
    assert "BTC/USDT" in book
    assert "ETH/USDT" not in book
    assert book.state("BTC/USDT") is S.NEW


def test_close_forgets_steps_and_wait_and_open_starts_the_same_symbol_anew() -> None:
    book = BracketBook()
    b = book.of("BTC/USDT")
    book.move("BTC/USDT", S.GROWING)
    b.steps, b.short_since, b.tries = ("e-1", 1), 5_000, (60_000, 1)
    book.close("BTC/USDT")
    assert b.state is S.CLOSED
    assert b.steps is None and b.short_since is None and b.refusal is None
    assert b.tries == (60_000, 1)  # the placements at this instant still count
    assert book.open("BTC/USDT") is b
    assert b.state is S.NEW
    assert list(book) == ["BTC/USDT"]
    book.clear_tries()
    assert b.tries is None


def test_a_checkpoint_leaves_out_flat_brackets_and_keeps_every_symbol_after_a_plain_one() -> None:
    book = BracketBook()
    book.of("AAA/USDT")
    book.move("AAA/USDT", S.RESTING)  # held, resting, nothing else: derived on restore
    book.of("BBB/USDT")
    book.refuse("BBB/USDT", Decimal("0.5"), "g-1")
    book.of("CCC/USDT")
    book.move("CCC/USDT", S.CLOSED)  # flat: opened anew if a position comes
    book.of("DDD/USDT")
    book.move("DDD/USDT", S.PLACED)  # not held any more: nothing to protect
    out = book.to_dict(held={"AAA/USDT", "BBB/USDT"})
    assert set(out) == {"BBB/USDT"}
    assert out["BBB/USDT"]["state"] == "refused"
    assert "tries" not in out["BBB/USDT"]
