"""What the settings ask of a trading session before it starts: every account's agent, profile
and quote checked in one sentence, and the rules of the agents' room."""

from __future__ import annotations

from rampart.agents.registry import make_agent
from rampart.config import Settings, quote_of
from rampart.risk.profiles import get_profile
from rampart.trading.agent_room import RoomRules


def room_rules(settings: Settings, *, live: bool) -> RoomRules:
    """The agents' faults and deadlines from the settings: a deadline only ``live`` (a
    service), since a replay's result must not depend on the machine's speed."""
    engine = settings.engine
    deadlines = {"llm": settings.llm.timeout_s + 1, **engine.agent_deadlines}
    return RoomRules(
        engine.agent_faults_in_a_row, engine.agent_deadline_s if live else None, deadlines
    )


def validate_accounts(settings: Settings) -> None:
    """Fail fast, in one sentence, on an unknown agent or profile before anything starts."""
    for cfg in settings.accounts:
        make_agent(cfg.agent, cfg.params or None)
        get_profile(cfg.profile, settings.profiles or None)
        quote_of(cfg.symbols)
