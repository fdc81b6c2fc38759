"""The daily report's "Solana swaps" section, from the day's swap journal figures
(:class:`rampart.store.solana_swaps.SwapTotals`); the report has no such section on a day
without a swap.

Fees: bags.fm takes its platform fee in native SOL when either leg is SOL, else in a
stablecoin leg, else in the input; the section gives each asset's total with its mint. No swap
earns the operator a fee: bags.fm pays partners on tokens launched with a partner key, which
``rampart solana partner`` reports. Network fees are paid in SOL from the wallets' gas tanks.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from rampart.store.solana_swaps import SwapTotals
from rampart.venues.solana.settings import ROUTE_LABELS

DASH = "—"
STATUS_ORDER = ("filled", "failed", "expired", "refused", "sent")

FOOTNOTE = (
    "Solana swaps: attempts made in the day, by route and status (failed = landed with an "
    "error, such as slippage beyond the limit; sent = outcome not known yet). Route share = "
    "filled swaps of a route / filled swaps. Volume = the quote leg of filled swaps. Platform "
    "fees are given in the asset each was taken in (bags.fm: SOL when either leg is SOL). "
    "Route preference = quote given up by taking the preferred route over the best-priced one "
    "(solana.route.prefer). Realised slippage = price paid against the quoted price, in basis "
    "points (positive = worse than quoted)."
)


def _route(route: str) -> str:
    return ROUTE_LABELS.get(route, route)


def _tokens(value: Decimal, unit: str) -> str:
    text = f"{value.quantize(Decimal('0.000001')).normalize():f}"
    return f"{text} {unit}"


def _table(rows: Sequence[Sequence[str]], header: Sequence[str]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell.replace("|", "/") for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def _statuses(counts: dict[str, int]) -> str:
    ordered = sorted(counts, key=lambda s: (STATUS_ORDER.index(s) if s in STATUS_ORDER else 99, s))
    return ", ".join(f"{s} {counts[s]}" for s in ordered) or "none"


def _per_asset(amounts: dict[str, Decimal], mints: dict[str, str]) -> str:
    if not amounts:
        return DASH
    parts = []
    for quote, value in amounts.items():
        mint = mints.get(quote)
        where = f" (mint {mint[:4]}…{mint[-4:]})" if mint else ""
        parts.append(f"{_tokens(value, quote)}{where}")
    return ", ".join(parts)


def _preference(t: SwapTotals) -> str:
    if not t.not_best:
        return "none: every swap took the best price"
    given = ", ".join(_tokens(v, q) for q, v in t.route_cost.items()) or DASH
    return f"{t.not_best} swap(s) took the preferred route, giving up {given}"


RATIO_ROUTES = tuple(ROUTE_LABELS)[:2]
"""The two routes whose filled swaps the section compares, in the registry's order (the launch
plan's: bags.fm before Jupiter)."""


def ratio_label() -> str:
    return " : ".join(_route(r) for r in RATIO_ROUTES) + " (filled)"


def ratio_text(t: SwapTotals) -> str:
    filled = t.filled
    counts = " : ".join(str(filled.get(r, 0)) for r in RATIO_ROUTES)
    ratio = t.ratio(*RATIO_ROUTES) if len(RATIO_ROUTES) == 2 else None
    return counts + (f" ({ratio:.2f})" if ratio is not None else "")


def solana_markdown(t: SwapTotals) -> list[str]:
    """The section's lines (heading first), ready to join into the report."""
    share = t.route_share
    routes = sorted(t.attempts, key=lambda r: (r not in ROUTE_LABELS, r))
    rows = []
    for route in routes:
        volume = ", ".join(_tokens(v, q) for q, v in t.volume.get(route, {}).items()) or DASH
        part = f"{share[route] * 100:.1f} %" if route in share else DASH
        rows.append((_route(route), _statuses(t.attempts[route]), part, volume))
    parts = ["## Solana swaps", "", _table(rows, ("route", "attempts", "share of fills", "volume"))]
    figures = [
        ("swaps (client orders)", str(t.swaps)),
        (ratio_label(), ratio_text(t)),
        ("platform fees paid", _per_asset(t.platform_fees, t.fee_mints)),
        ("route preference", _preference(t)),
        ("network fees", f"{_tokens(t.network_fees_sol, 'SOL')} ({t.fee_lamports:,} lamports)"),
    ]
    parts += ["", _table(figures, ("figure", "value"))]
    if t.slippage:
        slips = [
            (_route(r), str(s.fills), f"{s.mean_bps:+.1f} bps", f"{s.worst_bps:+.1f} bps")
            for r, s in t.slippage.items()
        ]
        header = ("route", "fills", "realised vs quoted, mean", "worst")
        parts += ["", _table(slips, header)]
    parts += ["", FOOTNOTE]
    return parts
