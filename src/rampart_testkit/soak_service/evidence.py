"""What a service soak collected: plain facts, read from the service's database, its API, its
backups and the simulator. The judge (:mod:`.judge`) reads nothing else, so a test can plant
one failure in otherwise clean evidence and see its criterion fail."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class BackupCheck:
    """One scheduled backup the service wrote, restored into a scratch database and opened."""

    name: str
    restored: bool
    detail: str
    """What the scratch database held (tables and rows), or why it could not be restored."""


@dataclass(frozen=True, slots=True)
class Holding:
    """A coin an account holds at the end, by the books, and the stop orders resting on it
    at the simulator."""

    account_id: str
    symbol: str
    qty: str
    stop_qty: str
    """The summed quantity of the stop orders resting at the simulator (0: none)."""


@dataclass
class Life:
    """One start of the service process, up to its end."""

    pid: int
    started_wall_s: float
    ended_by: str = "running"
    """``planted kill`` (the run's SIGKILL), ``stop`` (the run's SIGTERM, exit 0), or how it
    ended on its own (``exit N``, ``signal N``): a crash."""
    rss_bytes: list[int] = field(default_factory=list)
    """Resident memory of this process, sampled on the wall clock after its warm-up."""
    order_latency_sum_s: float = 0.0
    order_latency_count: int = 0
    """Its ``rampart_order_latency_seconds`` histogram at the last scrape of ``/metrics``."""
    health: str | None = None
    """The last ``/health`` answer's status."""


@dataclass(frozen=True, slots=True)
class JobRun:
    """What the service's scheduler recorded of one job: the last slot it ran for (business
    time, UTC) and how that went (``baseline``: no slot of it has come yet)."""

    job: str
    last_slot: str
    status: str
    detail: str
    slot_ms: int = 0
    ran_ms: int = 0
    """When it last started or ended a run for that slot (business time)."""


@dataclass(frozen=True, slots=True)
class FaultWindow:
    """One fault the run injected, on the service's business clock (what incidents are
    stamped with), and the alert rules it is expected to raise."""

    kind: str
    start_ms: int
    end_ms: int
    slack_ms: int
    """How long after ``end_ms`` its alert may still open (an evaluation away)."""
    expects: tuple[str, ...]
    """The alert rules one of which it must raise (empty: none expected)."""
    after_ms: int = 0
    """How long after ``end_ms`` an incident is still its doing (the quiet spell after it, in
    which calls it left uncertain are settled): such an incident is no critical failure of its
    own, but must be resolved by the end."""


@dataclass(frozen=True, slots=True)
class Message:
    """One message the service recorded for an investor's chat, and how many times the Bot API
    stand-in accepted it: a notice of its outbox (``notice <key>``) or a reply to a command
    (``reply <n> to <command>``). Each is to arrive exactly once."""

    what: str
    chat: int
    times: int


@dataclass(frozen=True, slots=True)
class AlertSeen:
    """One incident the service's alert engine opened (its store), business time."""

    rule: str
    severity: str
    opened_ms: int
    resolved_ms: int | None
    summary: str = ""


@dataclass
class Part:
    """The part of a run before a host restart, as the resumed run judges it."""

    resumed_at: str
    """When the run was started again (wall clock, UTC)."""
    business_ms: int
    """The service's business clock at the last reading before the host restart."""
    record_ms: int
    """The business time of the simulator's last record read before it."""
    sim_trades: dict[str, list[list[Any]]] = field(default_factory=dict)
    """Account -> [trade id, business ms] the simulator made, as last read."""
    book_fills: dict[str, list[list[Any]]] = field(default_factory=dict)
    """Account -> [fill id, business ms] the books held when the run resumed."""


@dataclass
class Evidence:
    hours: float
    """Simulated hours asked for."""
    simulated_s: float = 0.0
    """How far the service's business clock moved."""
    wall_s: float = 0.0
    kills_planned: int = 0
    stopped_early: str | None = None
    """Why the run ended before its end (a SIGTERM, the wall-time bound), or None."""
    stop_took_s: float | None = None
    """From the moment the run saw it was told to stop to its evidence collected (wall)."""
    lives: list[Life] = field(default_factory=list)
    alerts: list[AlertSeen] = field(default_factory=list)
    """Every incident the service opened in the run."""
    faults: list[FaultWindow] = field(default_factory=list)
    """The faults injected, in order; empty when the run injected none."""
    faults_planned: tuple[str, ...] = ()
    book_trade_ids: dict[str, list[str]] = field(default_factory=dict)
    """Account id -> the simulator trade ids the books hold a fill of (one entry per fill)."""
    sim_trade_ids: dict[str, list[str]] = field(default_factory=dict)
    """Account id -> the trade ids the simulator made for that account."""
    sim_read_error: str | None = None
    backups_expected: int = 0
    backups: list[BackupCheck] = field(default_factory=list)
    backups_unchecked: int = 0
    """Backups written but not restored (the run was told to stop and had no time left)."""
    holdings: list[Holding] = field(default_factory=list)
    audit_entries: int = 0
    audit_problem: str | None = None
    """The first problem the audit chain's walk found; None when intact."""
    audit_read: bool = False
    messages: list[Message] | None = None
    """Every investor message the service recorded (its outbox's notices, its commands'
    replies) with the times the stand-in accepted it; None when no bot ran in the soak."""
    commands: dict[str, int] = field(default_factory=dict)
    """Each command an investor sent (``<user> <text> #<update id>``) -> the replies the
    service recorded for it (0: never answered)."""
    answers_unkept: int = 0
    """Commands answered by a reply the service could not record (its store was down): the
    investor got the answer, but a kill then would have lost it."""
    withheld: int = 0
    """Notices the outbox rightly did not send: a "trades normally again" notice no longer
    true when its turn came (shown, not counted as lost)."""
    bot_cut_s: float | None = None
    """Wall seconds the bot's network was cut for (None: no cut in the run)."""
    in_cut: tuple[int, int] = (0, 0)
    """(delivered exactly once, all) of the messages and commands that waited out the bot's
    network cut: recorded unsent, or sent by an investor, while it was cut."""
    jobs: list[JobRun] = field(default_factory=list)
    """The scheduler's record of each job, judged against its slots (:mod:`.jobs`)."""
    begin_ms: int | None = None
    end_ms: int | None = None
    """The service's business clock at the run's first reading and at its last."""
    backup_every_h: float = 6.0
    parts: list[Part] = field(default_factory=list)
    """The parts before each host restart the run resumed after (empty: it ran in one go)."""
    repairs: list[str] = field(default_factory=list)
    """The service's repairs of its holdings booked just after a resume (account:fill id)."""
    notes: list[str] = field(default_factory=list)


__all__ = [
    "AlertSeen",
    "BackupCheck",
    "Evidence",
    "FaultWindow",
    "Holding",
    "JobRun",
    "Life",
    "Message",
    "Part",
]
