"""The bot's words: short Telegram HTML, amounts with their currency."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal
from html import escape

from rampart.clock import ms_to_datetime
from rampart.risk.profiles import RiskProfile

CENT = Decimal("0.01")

DISCLAIMER = (
    "<b>Before you start</b>\n"
    "Trading crypto can lose money, including all of what you put in. Rampart trades for you "
    "with automatic stop-losses and limits, but it cannot promise profits, and past results "
    "say nothing sure about the future. Only invest what you can afford to lose.\n"
    "Tap <b>I accept</b> to go on."
)

INVESTOR_HELP = [
    ("start", "register and accept the risk disclaimer"),
    ("help", "this list"),
    (
        "connect",
        "connect an exchange key or your Solana wallet (/connect solana), or take a paper "
        "account: /connect paper",
    ),
    ("disconnect", "forget your exchange key (a Solana wallet only once it is empty)"),
    ("risk", "show or set your risk profile: /risk moderate"),
    ("invest", "set your capital and start trading: /invest 300"),
    ("mode", "paper or live: /mode paper"),
    ("portfolio", "equity, cash, positions with stop-loss and target, PnL"),
    ("profit", "realised and unrealised PnL: today, this week, all time; win rate"),
    ("balance", "cash, positions at the last price and equity"),
    ("trades", "your latest closed trades with ids and exit reasons: /trades or /trades 20"),
    ("daily", "your realised profit per day: /daily or /daily 14"),
    ("weekly", "your realised profit per week: /weekly or /weekly 8"),
    ("why", "why orders were refused, in plain words"),
    ("pause", "stop opening new positions"),
    ("resume", "start opening positions again"),
    ("close", "close a position at market; the agent then leaves that coin alone: /close ETH"),
    ("allow", "let the agent trade a coin you closed again: /allow ETH, or /allow to list"),
    ("demo", "a paper account with a virtual balance and a guided first trade"),
    ("vibe", "describe a trade: /vibe long BTC, tight stop, 2% target"),
    ("report", "your weekly summary: /report or /report YYYY-MM-DD"),
    ("notify", "which notices you get: /notify, /notify off exits, /notify on all"),
]
OPERATOR_HELP = [
    ("status", "service and accounts at a glance"),
    ("health", "health checks"),
    ("kill", "engage the kill switch: /kill REASON [flatten]"),
    ("unkill", "release the kill switch: /unkill REASON"),
    ("pause_user", "pause an investor: /pause_user ACCOUNT [REASON] [flatten]"),
    ("users", "investors and their accounts"),
    ("incidents", "open incidents"),
    ("ack", "acknowledge an incident: /ack ID"),
    (
        "incident_eta",
        "tell affected investors when an incident should be fixed: /incident_eta ID 45",
    ),
    ("daily", "the service's daily report: /daily, /daily today or /daily YYYY-MM-DD"),
    ("rollout", "the rollout stage and what it waits for"),
    ("approve", "approve the rollout promotion waiting for you"),
    ("hold", "hold the rollout stage: /hold REASON, or /hold release REASON"),
    ("rollback", "step the rollout back one stage now: /rollback REASON"),
    ("gonogo", "every launch criterion: GO or NO-GO"),
    ("models", "ML model versions and the one serving"),
    ("model_rollback", "put the previous production model back: /model_rollback REASON"),
]


def help_text(operator: bool) -> str:
    lines = ["<b>Commands</b>"] + [f"/{c} – {escape(d)}" for c, d in INVESTOR_HELP]
    if operator:
        lines += ["", "<b>Operator</b>"] + [f"/{c} – {escape(d)}" for c, d in OPERATOR_HELP]
    return "\n".join(lines)


def money(amount: Decimal, currency: str) -> str:
    value = amount.quantize(CENT, rounding=ROUND_HALF_EVEN)
    return f"{value:,.2f} {escape(currency)}"


def signed(amount: Decimal, currency: str) -> str:
    return ("+" if amount >= 0 else "") + money(amount, currency)


def price(value: Decimal) -> str:
    """A price with as many decimals as it needs (8 at most), no exponent."""
    q = value.quantize(Decimal("0.01") if abs(value) >= 100 else Decimal("0.00000001"))
    text = f"{q:,f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def qty(value: Decimal) -> str:
    text = f"{value.normalize():f}"
    return text


def when(ms: int) -> str:
    return ms_to_datetime(ms).strftime("%m-%d %H:%M")


def pct(fraction: Decimal) -> str:
    return f"{(fraction * 100).normalize():f}%"


def profile_text(p: RiskProfile) -> str:
    return (
        f"<b>{escape(p.name)}</b>: risks {pct(p.risk_per_trade)} of equity per trade, "
        f"positions up to {pct(p.max_position)}, at most {p.max_open} open, stops "
        f"{pct(p.min_stop)}–{pct(p.max_stop)} below entry, and it halts for the day after a "
        f"{pct(p.daily_loss)} loss or a {pct(p.max_drawdown)} drawdown."
    )
