"""The bot's words: short Telegram HTML, amounts with their currency."""

from __future__ import annotations

from decimal import Decimal
from html import escape

from rampart.clock import ms_to_datetime, shown_ms
from rampart.domain import money_format
from rampart.risk.profiles import RiskProfile

DISCLAIMER = (
    "<b>Before you start</b>\n"
    "Trading crypto can lose money, including all of what you put in. Rampart trades for you "
    "with automatic stop-losses and limits, but it cannot promise profits, and past results "
    "say nothing sure about the future. Only invest what you can afford to lose."
)

INVESTOR_HELP = [
    ("start", "register; accept the risk disclaimer and the terms"),
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
    (
        "portfolio",
        "what your account is worth, its cash, and each position with its stop-loss, target "
        "and profit or loss",
    ),
    ("status", "your open positions (an operator's: the service at a glance)"),
    ("count", "open positions against your profile's maximum"),
    ("performance", "realised profit per coin, best first"),
    (
        "profit",
        "profit or loss today, this week and all time, sold and still open; how often you win",
    ),
    ("balance", "cash, positions at the last price, and the total"),
    ("trades", "your latest closed trades with ids and exit reasons: /trades or /trades 20"),
    ("daily", "your realised profit per day: /daily or /daily 14"),
    ("weekly", "your realised profit per week: /weekly or /weekly 8"),
    ("why", "why a trade was not made, in plain words"),
    ("pause", "stop new trades (open positions keep their stop-loss and target)"),
    ("resume", "start opening positions again"),
    ("close", "close a position at market; the agent then leaves that coin alone: /close ETH"),
    ("allow", "let the agent trade a coin you closed again: /allow ETH, or /allow to list"),
    ("demo", "a paper account with a virtual balance and a guided first trade"),
    ("vibe", "describe a trade: /vibe long BTC, tight stop, 2% target"),
    ("report", "your weekly summary: /report or /report YYYY-MM-DD"),
    ("notify", "which notices you get: /notify, /notify off exits, /notify on all"),
    ("terms", "the terms of service and privacy policy, and whether you accepted them"),
    ("feedback", "tell us how we do: a score from 1 to 5 and a few words: /feedback 5 clear"),
    (
        "support",
        "ask the operator's team for help: /support TEXT, or /support critical TEXT when "
        "money is at risk",
    ),
]
OPERATOR_HELP = [
    ("status", "service and accounts at a glance"),
    ("health", "health checks"),
    ("kill", "engage the kill switch: /kill REASON [flatten]"),
    ("unkill", "release the kill switch: /unkill REASON"),
    ("pause_user", "pause an investor: /pause_user ACCOUNT [REASON] [flatten]"),
    (
        "resume_user",
        "resume an investor you paused: /resume_user ACCOUNT [REASON] [breakers] (breakers: "
        "also lift a circuit breaker's halt)",
    ),
    ("users", "investors and their accounts"),
    ("incidents", "open incidents"),
    ("ack", "acknowledge an incident: /ack ID"),
    ("tickets", "open support tickets, oldest first, with their SLA"),
    ("answer", "answer a support ticket; the investor gets it as a notice: /answer ID TEXT"),
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


MEANT = {
    "stop": "pause",
    "halt": "pause",
    "quit": "pause",
    "unpause": "resume",
    "continue": "resume",
    "restart": "resume",
    "sell": "close",
    "exit": "close",
    "positions": "portfolio",
    "account": "portfolio",
    "pnl": "profit",
    "history": "trades",
    "deposit": "invest",
    "key": "connect",
    "settings": "notify",
    "contact": "support",
}
"""Commands people try that are not ours, and the one that does what they mean (rather than
the whole 1,900-character help for /stop)."""

UNKNOWN_TAIL = "/help lists every command."


def unknown_command(text: str, operator: bool) -> str:
    """The answer to a command we do not have: the one meant, when we can tell, in a line or
    two; never the whole help."""
    import difflib

    word = text.strip().split(maxsplit=1)[0] if text.strip() else ""
    name = word.lstrip("/").partition("@")[0].lower()
    known = [c for c, _ in INVESTOR_HELP] + ([c for c, _ in OPERATOR_HELP] if operator else [])
    meant = MEANT.get(name) or next(iter(difflib.get_close_matches(name, known, n=1)), None)
    shown = f"/{escape(name)}" if name else "that command"
    if meant == "pause":
        return (
            f"There is no {shown}. To stop new trades send /pause: open positions keep their "
            f"stop-loss and take-profit, and /resume starts again. {UNKNOWN_TAIL}"
        )
    if meant is not None:
        what = dict(INVESTOR_HELP + (OPERATOR_HELP if operator else [])).get(meant, "")
        return f"There is no {shown}. Did you mean /{meant} ({escape(what)})? {UNKNOWN_TAIL}"
    return f"I don't know {shown}. {UNKNOWN_TAIL}"


# Money as every front shows it (rampart.domain.money_format), escaped for Telegram's HTML.


def money(amount: Decimal, currency: str) -> str:
    return escape(money_format.money(amount, currency))


def signed(amount: Decimal, currency: str) -> str:
    return escape(money_format.pnl(amount, currency))


def price(value: Decimal) -> str:
    """A price: two decimals from 100 up, six significant digits below, no exponent."""
    return money_format.price(value)


def qty(value: Decimal) -> str:
    return money_format.quantity(value)


def when(ms: int) -> str:
    return ms_to_datetime(shown_ms(ms)).strftime("%m-%d %H:%M")


def pct(fraction: Decimal) -> str:
    return f"{(fraction * 100).normalize():f}%"


def profile_text(p: RiskProfile) -> str:
    return (
        f"<b>{escape(p.name)}</b>: risks {pct(p.risk_per_trade)} of equity per trade, "
        f"positions up to {pct(p.max_position)}, at most {p.max_open} open, stops "
        f"{pct(p.min_stop)}–{pct(p.max_stop)} below entry, and it halts for the day after a "
        f"{pct(p.daily_loss)} loss or a {pct(p.max_drawdown)} drawdown."
    )


def plain_escape(text: str) -> str:
    """``text`` safe in an HTML message (quotes left as they are)."""
    from html import escape

    return escape(text, quote=False)


LONG_WORD = 64
"""A word longer than this in an error sentence is something typed: shown cut."""


def clip_words(text: str) -> str:
    """``text`` with every word over :data:`LONG_WORD` characters cut to its start and "…", so a
    sentence quoting what was typed stays short."""
    return " ".join(w if len(w) <= LONG_WORD else w[:24] + "…" for w in text.split(" "))


# The bot's own answers when a command cannot be served.
MAX_ARGS_CHARS = 1_000
"""Longer arguments are refused unread (a command needs a few words; a reason a sentence)."""
TOO_FAST = "You are sending commands too fast; wait a minute and try again."
SORRY = "Something went wrong on our side; nothing was changed."
SORRY_AFTER = (
    "Something went wrong on our side, and part of it may already be done; /portfolio shows "
    "where your account stands."
)
"""The apology once a proposal was acted on, or after a command that acts before it answers:
"nothing was changed" could be untrue."""
ACTING = frozenset(
    {"invest", "pause", "resume", "notify", "connect", "disconnect", "mode", "risk", "close"}
)
"""Commands that change something before they answer: one that fails after acting is
apologised for with :data:`SORRY_AFTER` ("nothing was changed" could be untrue)."""
REPLY_REFUSED = (
    "Telegram refused my answer to your last command, so I could not show it. If it asked for "
    "a change, /portfolio shows whether it was made."
)
"""Said when Telegram refuses a reply: the command behind it may have acted."""
TOO_LONG = "That is too long for /{name}; I did not act on it. /help lists what each command takes."
