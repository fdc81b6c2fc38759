"""Which route serves an order.

Every route is asked for the order's quantity at once: a sell is an exact input of base on
both; a buy is an exact output of base where the route quotes one (Jupiter), and on bags.fm,
which quotes only an exact input, an input of quote sized from a price (another route's quote,
else a probe of its own), sized again once from its own answer if that came out off. Each
quote is checked against the order: the pair it quotes, and its base quantity within
``solana.route.qty_tolerance_bps`` of the order's; a route whose quote fails is refused.

Of the quotes left the best price wins, every fee counted: both routes quote what actually
moves (bags.fm's output is what the taker receives, its fee already out), so input per unit
of output compares them whole. An operator may prefer a route within a bound; what that
gives up against the best is the choice's ``cost``, in base units of the quote token,
reported per swap.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from math import ceil, floor

import structlog

from rampart.domain.errors import RampartError, VenueError
from rampart.domain.orders import Side
from rampart.venues.solana.markets import Market, from_base_units
from rampart.venues.solana.routes import Mode, Quote, Route

log = structlog.get_logger("rampart.venues.solana")
BPS = 10_000


@dataclass(frozen=True, slots=True)
class Ask:
    """One order as the routes are asked for it, in base units."""

    market: Market
    side: Side
    amount: int
    """The order's base quantity in base units."""
    slippage_bps: int
    tolerance_bps: int

    @property
    def buy(self) -> bool:
        return self.side is Side.BUY

    @property
    def pair(self) -> tuple[str, str]:
        """(input mint, output mint)."""
        m = self.market
        return (m.quote_mint, m.base_mint) if self.buy else (m.base_mint, m.quote_mint)

    def base_of(self, q: Quote) -> int:
        return q.out_amount if self.buy else q.in_amount


@dataclass(frozen=True, slots=True)
class Choice:
    quote: Quote
    """The quote taken."""
    best: Quote
    """The best-priced quote (the one taken unless a preference chose another)."""
    cost: int = 0
    """Quote-token base units the preference gave up against the best (0 when it is taken)."""

    @property
    def preferred(self) -> bool:
        return self.quote is not self.best


def tokens(units: int, decimals: int) -> str:
    return f"{from_base_units(units, decimals).normalize():f}"


def checked(route: Route, q: Quote, ask: Ask) -> Quote:
    """``q`` when it quotes the order; else the route is refused in one sentence."""
    m = ask.market
    if (q.input_mint, q.output_mint) != ask.pair:
        raise VenueError(f"{route.label} quoted another pair than {m.symbol}.", "quote_mismatch")
    got = ask.base_of(q)
    if abs(got - ask.amount) * BPS > ask.amount * ask.tolerance_bps:
        raise VenueError(
            f"{route.label} quoted {tokens(got, m.base_decimals)} {m.base} for an order of "
            f"{tokens(ask.amount, m.base_decimals)} {m.base}.",
            "quote_mismatch",
        )
    return q


async def _exact(route: Route, ask: Ask) -> Quote:
    src, dst = ask.pair
    mode: Mode = "ExactOut" if ask.buy else "ExactIn"
    return checked(route, await route.quote(src, dst, ask.amount, mode, ask.slippage_bps), ask)


async def _sized_buy(route: Route, ask: Ask, hint: Fraction | None) -> Quote:
    """A buy on a route that quotes only an exact input: the quote to spend is sized from
    ``hint`` (quote units per base unit) or, without one, from selling the same base there."""
    m, slip = ask.market, ask.slippage_bps
    if hint is None:
        probe = await route.quote(m.base_mint, m.quote_mint, ask.amount, "ExactIn", slip)
        if probe.in_amount <= 0 or probe.out_amount <= 0:
            raise VenueError(f"{route.label} gave no price for {m.symbol}.", "no_quote")
        hint = Fraction(probe.out_amount, probe.in_amount)
    spend = max(1, ceil(ask.amount * hint))
    q = await route.quote(m.quote_mint, m.base_mint, spend, "ExactIn", slip)
    off = abs(q.out_amount - ask.amount) * BPS > ask.amount * ask.tolerance_bps
    if off and q.out_amount > 0:
        # Its own answer is the better price: fees and depth are in it.
        spend = max(1, ceil(spend * Fraction(ask.amount, q.out_amount)))
        q = await route.quote(m.quote_mint, m.base_mint, spend, "ExactIn", slip)
    return checked(route, q, ask)


def _problem(route: Route, result: BaseException) -> str:
    if isinstance(result, RampartError):
        return result.message.rstrip(".")
    log.warning("route_quote_failed", route=route.name, error=type(result).__name__)
    return f"{route.name} failed ({type(result).__name__})"


async def quote_all(routes: Mapping[str, Route], ask: Ask) -> tuple[list[Quote], list[str]]:
    """Every route's checked quote for ``ask``, and a sentence for each route refused."""
    exact = [r for r in routes.values() if not ask.buy or r.exact_out]
    sized = [r for r in routes.values() if ask.buy and not r.exact_out]
    quotes: list[Quote] = []
    problems: list[str] = []

    async def collect(asked: Sequence[Route], calls: Sequence[object]) -> None:
        results = await asyncio.gather(*calls, return_exceptions=True)  # type: ignore[call-overload]
        for route, result in zip(asked, results, strict=True):
            if isinstance(result, Quote):
                quotes.append(result)
            elif isinstance(result, Exception):
                problems.append(_problem(route, result))
            else:
                raise result  # cancellation and the like

    await collect(exact, [_exact(r, ask) for r in exact])
    if sized:
        hint = Fraction(quotes[0].in_amount, quotes[0].out_amount) if quotes else None
        await collect(sized, [_sized_buy(r, ask, hint) for r in sized])
    return quotes, problems


def cheaper(a: Quote, b: Quote) -> bool:
    """Whether ``a`` is the better price: less in per unit out (a buy, quote in) or more out
    per unit in (a sell, base in) — the same test, input per output, either way round."""
    return a.in_amount * b.out_amount < b.in_amount * a.out_amount


def at_best_price(chosen: Quote, best: Quote, buy: bool) -> Fraction:
    """Quote units ``chosen``'s size would move at ``best``'s price: what a buy of its output
    would cost, what a sale of its input would bring."""
    if buy:
        return Fraction(chosen.out_amount * best.in_amount, best.out_amount)
    return Fraction(chosen.in_amount * best.out_amount, best.in_amount)


def cost_of(chosen: Quote, best: Quote, buy: bool) -> int:
    """Quote-token base units ``chosen`` gives up against ``best``'s price, for its own size:
    paid more for what it bought, or got less for what it sold."""
    fair = at_best_price(chosen, best, buy)
    given = chosen.in_amount - fair if buy else fair - chosen.out_amount
    return max(0, floor(given))


def pick(
    quotes: Sequence[Quote], buy: bool, prefer: str | None = None, within_bps: int = 0
) -> Choice:
    """The best price, or the preferred route when what it gives up is at most
    ``within_bps`` of what its size would move at the best price."""
    if not quotes:
        raise VenueError("No route gave a quote for this swap.", "no_quote")
    best = quotes[0]
    for q in quotes[1:]:
        if cheaper(q, best):
            best = q
    chosen = next((q for q in quotes if q.route == prefer), None)
    if chosen is None or chosen is best:
        return Choice(best, best)
    if behind_bps(chosen, best, buy) > within_bps:
        return Choice(best, best)
    return Choice(chosen, best, cost_of(chosen, best, buy))


async def choose_route(
    routes: Mapping[str, Route],
    ask: Ask,
    prefer: str | None = None,
    within_bps: int = 0,
) -> Choice:
    quotes, problems = await quote_all(routes, ask)
    if not quotes:
        raise VenueError(f"No route would quote this swap: {'; '.join(problems)}.", "no_quote")
    for problem in problems:
        log.info("route_refused", market=ask.market.symbol, reason=problem)
    choice = pick(quotes, ask.buy, prefer, within_bps)
    # Why this route: every route's quote beside the one taken and what it gave up, so a
    # preference's price (and a bags.fm share below the plan's) can be read from the log.
    log.info(
        "route_chosen",
        market=ask.market.symbol,
        side=ask.side.value,
        route=choice.quote.route,
        best_route=choice.best.route,
        preferred=choice.preferred,
        prefer=prefer,
        within_bps=within_bps,
        quotes={q.route: {"in": q.in_amount, "out": q.out_amount} for q in quotes},
        behind_best_bps={
            q.route: round(float(behind_bps(q, choice.best, ask.buy)), 2) for q in quotes
        },
        cost=choice.cost,
    )
    return choice


def behind_bps(q: Quote, best: Quote, buy: bool) -> Fraction:
    """How far ``q``'s price is behind ``best``'s, in basis points of ``q``'s size at the best
    price (0 for the best itself): the figure ``within_bps`` caps."""
    fair = at_best_price(q, best, buy)
    given = q.in_amount - fair if buy else fair - q.out_amount
    return given * BPS / fair if fair else Fraction(0)  # exact: the cap is compared to it


__all__ = [
    "Ask",
    "Choice",
    "behind_bps",
    "cheaper",
    "checked",
    "choose_route",
    "cost_of",
    "pick",
    "quote_all",
]
