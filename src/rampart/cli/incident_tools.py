"""``rampart incidents postmortem ID`` and ``rampart incidents eta ID WHEN``: a postmortem
drafted from the stored timeline, and the expected time to fix shown on the status page."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from rampart.cli.common import ConfigOpt, friendly, recorded_now_ms
from rampart.clock import ms_to_datetime
from rampart.domain.errors import RampartError

console = Console(soft_wrap=True)


@friendly
def postmortem(
    incident_id: Annotated[int, typer.Argument(help="The incident's number.")],
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Write the draft to this file (default: print it)."),
    ] = None,
    before: Annotated[
        str, typer.Option(help="How far before the incident opened the timeline starts.")
    ] = "30m",
    after: Annotated[
        str, typer.Option(help="How far after it resolved (or now) the timeline ends.")
    ] = "30m",
    config: ConfigOpt = None,
) -> None:
    """Draft a postmortem in Markdown from what the database recorded around an incident:
    its alerts, acknowledgements, audit entries, orders, account events and investor notices."""
    from rampart.config import load_settings
    from rampart.observability.postmortem import draft_postmortem, parse_duration
    from rampart.store.db import open_database

    before_ms, after_ms = parse_duration(before), parse_duration(after)
    settings = load_settings(config)
    db = open_database(settings.store.url)
    try:
        text = draft_postmortem(
            db, incident_id, recorded_now_ms(db), before_ms=before_ms, after_ms=after_ms
        )
    finally:
        db.dispose()
    if out is None:
        console.print(text, markup=False, highlight=False)
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    console.print(f"Wrote the postmortem draft of incident {incident_id} to {out}.")


def parse_eta(text: str, now_ms: int) -> int | None:
    """``+90m``/``+2h`` from now, a UTC time ``2024-03-01T14:30``, or ``clear`` (None)."""
    from rampart.observability.postmortem import parse_duration

    raw = text.strip()
    if raw.lower() in ("clear", "none"):
        return None
    if raw.startswith("+"):
        return now_ms + parse_duration(raw[1:])
    try:
        when = datetime.fromisoformat(raw.replace(" ", "T"))
    except ValueError:
        raise RampartError(
            f"{text!r} is not a time; write +2h, a UTC time like 2024-03-01T14:30, or clear."
        ) from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    eta = int(when.timestamp() * 1000)
    if eta <= now_ms:
        raise RampartError(f"{raw} has passed already; give a time to come, like +2h.")
    return eta


@friendly
def eta(
    incident_id: Annotated[int, typer.Argument(help="The incident's number.")],
    when: Annotated[str, typer.Argument(help="+2h, a UTC time like 2024-03-01T14:30, or clear.")],
    by: Annotated[str, typer.Option("--by", help="Who says so (recorded).")] = "operator",
    config: ConfigOpt = None,
) -> None:
    """Say when an incident is expected fixed: shown on the public status page (/status) and
    in the team's summary."""
    from rampart.config import load_settings
    from rampart.observability import incidents as store
    from rampart.store.db import open_database

    settings = load_settings(config)
    db = open_database(settings.store.url)
    try:
        now = recorded_now_ms(db)
        at = parse_eta(when, now)
        record = store.set_eta(db, incident_id, at, by, now)
    finally:
        db.dispose()
    said = "cleared" if at is None else f"{ms_to_datetime(at):%Y-%m-%d %H:%M} UTC"
    console.print(f"Incident {record.id} ({record.rule}): expected fixed {said}.")
