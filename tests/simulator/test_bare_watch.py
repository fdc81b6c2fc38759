"""The bare-coin watch of the chaos bench, read off a real simulator's state: coins bought
without a stop are bare until a stop (or an OCO pair's stop leg) rests for them or a market
sell is selling them; a take-profit alone protects nothing; a spell is charged to the fault
named when it began; dust does not count."""

from __future__ import annotations

from decimal import Decimal

from rampart.domain.orders import Side
from rampart_testkit.bare_watch import NO_FAULT, BareWatch, FaultWindows
from rampart_testkit.simulator.exchange import ApiAccount, OrderRequest, SimExchange
from rampart_testkit.simulator.runner import build_exchange

D = Decimal
SYMBOL = "BTC/USDT"


def _tick(price: Decimal) -> Decimal:
    return price.quantize(D("0.01"))


def _rig() -> tuple[SimExchange, ApiAccount]:
    ex = build_exchange(symbols=(SYMBOL,), seed=3)
    acct = ex.create_account({"USDT": D(100_000)})
    return ex, acct


def test_coins_are_bare_until_a_stop_rests_and_the_spell_goes_to_the_fault_it_began_in() -> None:
    ex, acct = _rig()
    watch = BareWatch()
    watch.sample(0.0, ex.state())  # nothing held: the baseline
    ex.place(acct, OrderRequest(SYMBOL, Side.BUY, "MARKET", "entry-1", qty=D("0.01")))
    held = D(ex.state()["accounts"][acct.account_id]["balances"]["BTC"]["free"])
    assert held > 0
    price = ex.last_price(SYMBOL)
    # A take-profit alone rests for the coins: still bare.
    ex.place(
        acct,
        OrderRequest(
            SYMBOL,
            Side.SELL,
            "LIMIT",
            "tp-1",
            qty=held,
            price=_tick(price * 2),
            time_in_force="GTC",
        ),
    )
    watch.sample(1.0, ex.state(), "kill -9")
    watch.sample(2.5, ex.state(), "SIGSTOP")  # the spell is still the kill's
    assert watch.spells == []
    take = ex.sub(acct.account_id).find("tp-1")
    assert take is not None and take.is_open
    ex.cancel(acct, SYMBOL, take)
    ex.place(
        acct,
        OrderRequest(SYMBOL, Side.SELL, "STOP_LOSS", "sl-1", qty=held, stop_price=_tick(price / 2)),
    )
    watch.sample(4.0, ex.state(), "SIGSTOP")
    (spell,) = watch.spells
    assert (spell.seconds, spell.fault, spell.uncovered, spell.gap) == (3.0, "kill -9", held, 1.5)
    assert not spell.open_at_end
    lines = watch.lines(["kill -9", "SIGSTOP"])
    assert lines[0] == f"coins bare during {NO_FAULT}: never"
    assert lines[1].startswith("coins bare during kill -9: longest 3.0 s")
    assert lines[2] == "coins bare during SIGSTOP: never"


def test_a_stop_for_part_of_the_coins_leaves_the_rest_bare_and_open_spells_end_marked() -> None:
    ex, acct = _rig()
    watch = BareWatch()
    watch.sample(0.0, ex.state())
    ex.place(acct, OrderRequest(SYMBOL, Side.BUY, "MARKET", "entry-1", qty=D("0.02")))
    held = D(ex.state()["accounts"][acct.account_id]["balances"]["BTC"]["free"])
    price = ex.last_price(SYMBOL)
    half = D("0.01")
    ex.place(
        acct,
        OrderRequest(SYMBOL, Side.SELL, "STOP_LOSS", "sl-1", qty=half, stop_price=_tick(price / 2)),
    )
    watch.sample(1.0, ex.state())
    watch.sample(7.0, ex.state())
    watch.finish()
    (spell,) = watch.spells
    assert spell.uncovered == held - half
    assert (spell.seconds, spell.fault, spell.open_at_end, spell.started) == (
        6.0,
        NO_FAULT,
        True,
        1.0,
    )
    assert spell.gap == 6.0  # the two looks were 6 s apart: the spell's edges are that coarse
    assert watch.lines([])[0].endswith("(still bare at the end) (looks up to 6.0 s apart)")


def test_coins_held_before_the_first_look_and_dust_are_not_bare() -> None:
    ex = build_exchange(symbols=(SYMBOL,), seed=3)
    acct = ex.create_account({"USDT": D(100_000), "BTC": D(1)})
    watch = BareWatch(dust=D(10))
    watch.sample(0.0, ex.state())  # a coin the investor held before: not Rampart's to cover
    price = ex.last_price(SYMBOL)
    dust = (D(5) / price).quantize(D("0.00001"))  # about 5 USDT of coins
    ex.place(acct, OrderRequest(SYMBOL, Side.BUY, "MARKET", "entry-1", qty=dust))
    watch.sample(1.0, ex.state())
    watch.sample(2.0, ex.state())
    watch.finish()
    assert watch.spells == []


def test_coins_a_market_sell_is_selling_are_not_bare() -> None:
    # A thin market: the simulator fills a market order over several candles' volume.
    ex = build_exchange(symbols=(SYMBOL,), seed=3)
    acct = ex.create_account({"USDT": D(10_000_000)})
    watch = BareWatch()
    watch.sample(0.0, ex.state())
    ex.place(acct, OrderRequest(SYMBOL, Side.BUY, "MARKET", "entry-1", qty=D("0.01")))
    held = D(ex.state()["accounts"][acct.account_id]["balances"]["BTC"]["free"])
    selling = OrderRequest(SYMBOL, Side.SELL, "MARKET", "exit-1", qty=held)
    order, _ = ex.place(acct, selling)
    watch.sample(1.0, ex.state())
    watch.finish()
    if order.is_open:  # still selling: covered
        assert watch.spells == []
    else:  # sold at once: nothing held
        assert watch.spells == [] and order.filled_qty == held


def test_a_spell_is_charged_to_the_latest_fault_under_way_or_just_over() -> None:
    windows = FaultWindows()
    windows.began("CPU 2x", 0.0)
    windows.began("kill -9", 5.0)
    assert (windows.at(4.0, 10), windows.at(6.0, 10)) == ("CPU 2x", "kill -9")
    windows.ended("kill -9", 8.0)
    windows.ended("CPU 2x", 9.0)
    assert windows.at(17.5, 10) == "kill -9"  # the later fault, over for 9.5 s
    assert windows.at(18.5, 10) == "CPU 2x"  # the kill's grace is over, the load's is not
    assert windows.at(19.5, 10) == NO_FAULT
    assert windows.at(-1.0, 10) == NO_FAULT
