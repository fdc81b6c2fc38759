"""Anomalies in an account's trading, judged from its domain events on the orders' clock.

Pure: no I/O, no metrics. The observability side (``observability/anomaly_watch.py``) feeds
the bus's events in and turns each :class:`Anomaly` into Prometheus series that the alert
rules read (incidents only ever come from alert rules). Every time here is an event's ``ts``:
simulated time in a replay, soak or test, wall time on an exchange.

Kinds (docs/operations/incident-levels.md, "Anomalies", says why each default is what it is):

- ``fill_off_mark``: a fill priced outside the band the market traded in (the symbol's last
  candle, low to high, widened to the latest mark; for a fill made before that candle, the
  candle of its own time, or no verdict) by more than the slippage tolerance;
- ``pnl_jump``: an equity return over one snapshot interval (``engine.equity_snapshot_ms``,
  an hour by default), capital moves taken out, more than ``pnl_sigmas`` robust standard
  deviations (1.4826 × MAD) from the median of the account's recent exposed intervals;
- ``balance_unexplained``: cash or realised PnL that changed between two snapshots with no
  fill and no capital move in between, money reconciliation set to the venue's figure that
  no fill explains, or coins that left the venue with no trade;
- ``reject_spike``, ``cancel_spike``, ``order_spike``: more rejections (risk's and the
  venue's), cancels or new orders in ``rate_window_ms`` than the account's profile lets it
  send (``max_orders_per_minute``, scaled to the window, times ``rate_multiple``).
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum

from rampart.domain.events import (
    CapitalChanged,
    EquitySnapshot,
    Event,
    FillBooked,
    IntentRejected,
    OrderUpdated,
    ReconciliationRepaired,
)
from rampart.domain.orders import OrderStatus

MAD_TO_SIGMA = 1.4826
"""The median absolute deviation times this is σ for normal data, and stays near the bulk
of the distribution when a few outliers (the jumps looked for) are in the window."""
VENUE_ACTOR = "venue"
"""The actor of a capital change reconciliation made: money no fill explains."""
UNEXPLAINED_REPAIRS = frozenset({"position_adjusted"})
"""Repairs that are coins leaving or reaching the venue with no trade."""


class AnomalyKind(StrEnum):
    FILL_OFF_MARK = "fill_off_mark"
    PNL_JUMP = "pnl_jump"
    BALANCE_UNEXPLAINED = "balance_unexplained"
    REJECT_SPIKE = "reject_spike"
    CANCEL_SPIKE = "cancel_spike"
    ORDER_SPIKE = "order_spike"


@dataclass(frozen=True, slots=True)
class AnomalyLimits:
    """Thresholds (``alerts.anomalies`` in the settings; defaults justified in
    docs/operations/incident-levels.md)."""

    fill_tolerance: float = 0.005
    """A fill this far outside the market's band (a share of the mark) is no slippage."""
    pnl_sigmas: float = 10.0
    pnl_window: int = 168
    """Exposed intervals the account's σ is measured over (a week of hourly snapshots)."""
    pnl_min_samples: int = 24
    """No verdict on PnL before this many exposed intervals: σ is not known yet."""
    pnl_min_move: float = 0.01
    """A move smaller than this share of equity is never a jump, however small σ is."""
    balance_tolerance: float = 0.0001
    """Unexplained money below this share of equity is dust (rounding, fee precision)."""
    rate_window_ms: int = 60_000
    rate_multiple: float = 1.0
    """Times the profile's per-minute order limit (scaled to the window) that is a spike."""
    hold_ms: int = 3_600_000
    """An anomaly stays active this long on the orders' clock, so the alert engine sees it."""


@dataclass(frozen=True, slots=True)
class Anomaly:
    account_id: str
    kind: AnomalyKind
    ts: int
    value: float
    """The measured figure: a share (fill, balance), σ multiples (PnL) or a count (spikes)."""
    limit: float
    """The threshold the figure passed, in the same unit."""
    figures: str
    """The figures in words, short enough for a label: what an incident's summary names."""


@dataclass(frozen=True, slots=True)
class Band:
    """Where the market traded when a fill came: the last candle's range and the mark."""

    low: Decimal
    high: Decimal
    mark: Decimal


def median(xs: Sequence[float]) -> float:
    ordered = sorted(xs)
    n = len(ordered)
    if n == 0:
        raise ValueError("median of nothing")
    mid = n // 2
    return ordered[mid] if n % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def robust_sigma(xs: Sequence[float]) -> float:
    """σ estimated from the median absolute deviation: one outlier barely moves it, where it
    would inflate the ordinary standard deviation and hide itself and the next."""
    centre = median(xs)
    return MAD_TO_SIGMA * median([abs(x - centre) for x in xs])


def fill_deviation(price: Decimal, band: Band) -> float:
    """How far ``price`` lies outside the band, as a share of the mark (0 inside it)."""
    low, high = min(band.low, band.mark), max(band.high, band.mark)
    if band.mark <= 0:
        return 0.0
    outside = low - price if price < low else price - high if price > high else Decimal(0)
    return float(outside / band.mark)


@dataclass(slots=True)
class PnlWindow:
    """An account's recent equity returns, and the verdict on a new one."""

    size: int
    min_samples: int
    returns: deque[float] = field(default_factory=deque)

    def judge(self, r: float) -> tuple[float, float] | None:
        """``(distance from the median in σ, σ)`` of ``r`` against the returns before it (None
        before ``min_samples``); ``r`` then joins the window."""
        verdict = None
        if len(self.returns) >= self.min_samples:
            sigma = robust_sigma(self.returns)
            distance = abs(r - median(self.returns))
            verdict = (distance / sigma if sigma > 0 else float("inf"), sigma)
            if distance == 0:
                verdict = (0.0, sigma)
        self.returns.append(r)
        if len(self.returns) > self.size:
            self.returns.popleft()
        return verdict


@dataclass(slots=True)
class RateWindow:
    """Event times in a sliding window; ``over`` remembers a spike already reported."""

    stamps: deque[int] = field(default_factory=deque)
    over: bool = False

    def add(self, ts: int, window_ms: int) -> int:
        self.stamps.append(ts)
        while self.stamps and self.stamps[0] <= ts - window_ms:
            self.stamps.popleft()
        return len(self.stamps)


@dataclass(slots=True)
class _Account:
    pnl: PnlWindow
    last: EquitySnapshot | None = None
    fills: int = 0
    """Fills booked since ``last``."""
    capital: Decimal = Decimal(0)
    """Capital moved (in and out) since ``last``."""
    rates: dict[AnomalyKind, RateWindow] = field(default_factory=dict)


def pct(x: float) -> str:
    return f"{x * 100:.2f} %"


class AnomalyDetector:
    """Judges each event as it comes; :meth:`on_event` returns the anomalies it shows.

    ``band`` gives a symbol's :class:`Band` at a fill's time (None: not known, no verdict);
    ``order_rate`` an account's profile limit of orders per minute.
    """

    def __init__(
        self,
        limits: AnomalyLimits,
        band: Callable[[str, int], Band | None],
        order_rate: Callable[[str], int],
    ) -> None:
        self.limits = limits
        self._band = band
        self._order_rate = order_rate
        self._accounts: dict[str, _Account] = {}
        self.judged: Counter[AnomalyKind] = Counter()
        """Observations given a verdict, by kind: how much ordinary trading a false-alarm
        count was measured over."""

    def _account(self, account_id: str) -> _Account:
        acct = self._accounts.get(account_id)
        if acct is None:
            lim = self.limits
            acct = self._accounts[account_id] = _Account(
                PnlWindow(lim.pnl_window, lim.pnl_min_samples)
            )
        return acct

    def on_event(self, event: Event) -> list[Anomaly]:
        if isinstance(event, FillBooked):
            return self._fill(event)
        if isinstance(event, EquitySnapshot):
            return self._equity(event)
        if isinstance(event, CapitalChanged):
            return self._capital(event)
        if isinstance(event, IntentRejected):
            return self._rate(event.intent.account_id, AnomalyKind.REJECT_SPIKE, event.ts)
        if isinstance(event, OrderUpdated):
            return self._order(event)
        if isinstance(event, ReconciliationRepaired) and event.kind in UNEXPLAINED_REPAIRS:
            figures = f"{event.symbol or 'coins'}: {event.kind} by reconciliation"
            kind = AnomalyKind.BALANCE_UNEXPLAINED
            return [Anomaly(event.account_id, kind, event.ts, 1.0, 0.0, figures)]
        return []

    # -- fills ---------------------------------------------------------------------------------

    def _fill(self, event: FillBooked) -> list[Anomaly]:
        fill = event.fill
        self._account(fill.account_id).fills += 1
        # Asked at the fill's own time: a fill booked from the past (a takeover's or a start's
        # adoption of history) is judged against the market it was made in, not today's.
        band = self._band(fill.symbol, fill.ts)
        if band is None:
            return []
        self.judged[AnomalyKind.FILL_OFF_MARK] += 1
        off = fill_deviation(fill.price, band)
        tolerance = self.limits.fill_tolerance
        if off <= tolerance:
            return []
        figures = (
            f"{fill.side} {fill.symbol} at {fill.price}, {pct(off)} outside "
            f"{band.low}-{band.high} (tolerance {pct(tolerance)})"
        )
        return [
            Anomaly(fill.account_id, AnomalyKind.FILL_OFF_MARK, event.ts, off, tolerance, figures)
        ]

    # -- equity and balances -------------------------------------------------------------------

    def _capital(self, event: CapitalChanged) -> list[Anomaly]:
        acct = self._account(event.account_id)
        acct.capital += event.delta
        if event.actor != VENUE_ACTOR:
            return []  # an investor's or operator's transfer: expected money
        if acct.last is None:
            # No equity seen yet: the venue's balance at the account's first reconciliation is
            # its opening balance, not money moving (else every account of a fleet's first
            # start, its configured capital set to the exchange's, is an anomaly, and together
            # AnomalyWidespread).
            return []
        base = acct.last.equity if acct.last.equity > 0 else event.old
        share = float(abs(event.delta) / base) if base > 0 else float("inf")
        tolerance = self.limits.balance_tolerance
        if share <= tolerance:
            return []
        figures = (
            f"cash set to the venue's, {event.delta:+} ({pct(share)} of equity) with no fill "
            "or transfer"
        )
        kind = AnomalyKind.BALANCE_UNEXPLAINED
        return [Anomaly(event.account_id, kind, event.ts, share, tolerance, figures)]

    def _equity(self, event: EquitySnapshot) -> list[Anomaly]:
        acct = self._account(event.account_id)
        last, fills, capital = acct.last, acct.fills, acct.capital
        acct.last, acct.fills, acct.capital = event, 0, Decimal(0)
        if last is None or last.equity <= 0:
            return []
        found: list[Anomaly] = []
        if fills == 0 and capital == 0:
            self.judged[AnomalyKind.BALANCE_UNEXPLAINED] += 1
            found += self._unbooked(event, last)
        r = float((event.equity - last.equity - capital) / last.equity)
        # Only intervals that held a position say how the account's equity moves; a flat
        # account's zeros would make σ zero and every first trade a "jump".
        if last.positions_value == 0 and event.positions_value == 0 and fills == 0:
            return found
        verdict = acct.pnl.judge(r)
        if verdict is None:
            return found
        self.judged[AnomalyKind.PNL_JUMP] += 1
        sigmas, sigma = verdict
        lim = self.limits
        if sigmas > lim.pnl_sigmas and abs(r) > lim.pnl_min_move:
            figures = (
                f"equity {r * 100:+.2f} % in one interval, {sigmas:.1f} sigma "
                f"(sigma {pct(sigma)}, limit {lim.pnl_sigmas:g} sigma)"
            )
            sigmas = min(sigmas, 1e9)  # a flat past gives inf: a finite figure for gauges
            found.append(
                Anomaly(
                    event.account_id,
                    AnomalyKind.PNL_JUMP,
                    event.ts,
                    sigmas,
                    lim.pnl_sigmas,
                    figures,
                )
            )
        return found

    def _unbooked(self, event: EquitySnapshot, last: EquitySnapshot) -> list[Anomaly]:
        """Cash and realised PnL move only with fills and capital: no fill came, none moved."""
        moved = max(abs(event.cash - last.cash), abs(event.realized_pnl - last.realized_pnl))
        share = float(moved / last.equity)
        tolerance = self.limits.balance_tolerance
        if share <= tolerance:
            return []
        figures = (
            f"cash {last.cash} -> {event.cash}, realised {last.realized_pnl} -> "
            f"{event.realized_pnl} with no fill or transfer ({pct(share)} of equity)"
        )
        kind = AnomalyKind.BALANCE_UNEXPLAINED
        return [Anomaly(event.account_id, kind, event.ts, share, tolerance, figures)]

    # -- rates ---------------------------------------------------------------------------------

    def _order(self, event: OrderUpdated) -> list[Anomaly]:
        order, previous = event.order, event.previous
        status = order.status
        if status is OrderStatus.NEW and previous is OrderStatus.NEW:
            kind = AnomalyKind.ORDER_SPIKE  # the engine registered a new order
        elif status is OrderStatus.CANCELED and previous is not OrderStatus.CANCELED:
            kind = AnomalyKind.CANCEL_SPIKE
        elif status is OrderStatus.REJECTED and previous is not OrderStatus.REJECTED:
            kind = AnomalyKind.REJECT_SPIKE
        else:
            return []
        return self._rate(order.account_id, kind, event.ts)

    def rate_limit(self, account_id: str) -> float:
        """Events of one kind in the window past which it is a spike."""
        lim = self.limits
        per_minute = self._order_rate(account_id)
        return per_minute * lim.rate_window_ms / 60_000 * lim.rate_multiple

    def _rate(self, account_id: str, kind: AnomalyKind, ts: int) -> list[Anomaly]:
        acct = self._account(account_id)
        window = acct.rates.get(kind)
        if window is None:
            window = acct.rates[kind] = RateWindow()
        self.judged[kind] += 1
        count = window.add(ts, self.limits.rate_window_ms)
        limit = self.rate_limit(account_id)
        if count <= limit:
            window.over = False
            return []
        if window.over:
            return []  # the same burst: reported when it crossed the limit
        window.over = True
        seconds = self.limits.rate_window_ms / 1000
        noun = kind.value.removesuffix("_spike")
        figures = f"{count} {noun}s in {seconds:g} s, more than {limit:g} (the profile's rate)"
        return [Anomaly(account_id, kind, ts, float(count), limit, figures)]


__all__ = [
    "Anomaly",
    "AnomalyDetector",
    "AnomalyKind",
    "AnomalyLimits",
    "Band",
    "PnlWindow",
    "fill_deviation",
    "median",
    "robust_sigma",
]
