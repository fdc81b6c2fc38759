"""The stand-in's constant-product pools: rounding favours the pool, k never decreases,
ExactOut asks for just enough input, bags.fm's fee in its documented mint and side, set_price
moves the price keeping k."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from rampart_testkit.solana_sim.markets import build_markets
from rampart_testkit.solana_sim.pools import Pool
from rampart_testkit.solana_sim.quotes import fee_mint, price_bags, price_swap

reserves = st.integers(min_value=10**6, max_value=10**18)


@given(
    reserves,
    reserves,
    st.integers(min_value=1, max_value=10**15),
    st.booleans(),
    st.integers(min_value=0, max_value=300),
)
def test_swaps_never_shrink_k_and_exact_out_is_the_least_input(
    base: int, quote: int, amount: int, base_in: bool, fee_bps: int
) -> None:
    pool = Pool(base, quote, fee_bps)
    r_in, r_out = pool.reserves(base_in)
    out = pool.out_for_in(amount, base_in)
    assert 0 <= out < r_out
    if out > 0:
        need = pool.in_for_out(out, base_in)
        assert need <= amount and pool.out_for_in(need, base_in) >= out
        assert need == 1 or pool.out_for_in(need - 1, base_in) < out
    k = pool.k
    pool.apply(amount, out, base_in)
    assert pool.k >= k


@given(
    st.integers(min_value=10**4, max_value=10**12),
    st.sampled_from(["SOL/USDC", "BONK/USDC"]),
    st.booleans(),
)
def test_bags_fee_is_in_its_documented_mint_and_side(
    amount: int, symbol: str, base_in: bool
) -> None:
    """SOL when a leg is SOL, else the stablecoin leg: off the input before the pool, or out of
    the pool's output; ``amount`` is always the input; the taker receives ``out_amount``."""
    pool = Pool(10**15, 150 * 10**12, 25)
    market = build_markets({symbol: Decimal(150)})[symbol]
    plain = price_swap(pool, base_in, "ExactIn", amount)
    bags = price_bags(pool, market, base_in, amount, 100)
    assert plain.platform_fee == 0 and bags.platform_fee >= 0
    assert bags.in_amount == plain.in_amount == amount and bags.out_amount <= plain.out_amount
    expected = market.base if symbol.startswith("SOL/") else market.quote
    assert bags.fee_mint == expected.address == fee_mint(market, base_in)
    input_mint = (market.base if base_in else market.quote).address
    if bags.fee_mint == input_mint:  # off the input, before the pool
        assert bags.in_amount - bags.platform_fee == bags.pool_in
        assert bags.out_amount == bags.pool_out
    else:  # out of what the pool gives
        assert bags.pool_in == amount and bags.out_amount + bags.platform_fee == bags.pool_out


def test_set_price_keeps_k_and_lands_on_the_price() -> None:
    pool = Pool(10**15, 150 * 10**12, 25)
    k = pool.k
    pool.set_price(Decimal("0.2"))  # 200 USDC a SOL in base units
    assert abs(pool.spot() - Decimal("0.2")) < Decimal("1e-9")
    assert abs(pool.k - k) / k < 1e-9
