"""What ``rampart optimize`` leaves behind: the report folder (Markdown, charts, HTML,
evidence) with the report stored, and a chosen setting saved as a named configuration
(``--save``), refused unless the agent's checks vouch for its code."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console

from rampart.domain.errors import ConfigError

if TYPE_CHECKING:
    from rampart.config import Settings
    from rampart.research.analysis import Analysis

console = Console()


def write(
    settings: Settings,
    analysis: Analysis,
    folder: Path,
    spans: list[tuple[int, int, int, int]],
    seconds: float,
) -> int:
    """Report, charts, HTML and evidence into ``folder``; the report into the store."""
    from markdown_it import MarkdownIt

    from rampart.clock import WallClock
    from rampart.extras import MissingExtra
    from rampart.reports.store import save_report
    from rampart.research.charts import render_charts
    from rampart.research.report import KIND, render
    from rampart.research.trial_table import to_csv
    from rampart.store.db import open_database

    folder.mkdir(parents=True, exist_ok=True)
    note = None
    try:
        charts = render_charts(analysis)
    except MissingExtra as missing:
        charts, note = {}, f"No charts. {missing.message}"
    text = render(analysis, charts, spans=spans, charts_note=note, seconds=seconds)
    (folder / "report.md").write_text(text, encoding="utf-8")
    for name, png in charts.items():
        (folder / name).write_bytes(png)
    html = MarkdownIt("commonmark").enable("table").render(text)
    (folder / "report.html").write_text(
        f"<!doctype html><meta charset='utf-8'><title>Research</title>{html}", encoding="utf-8"
    )
    evidence = analysis.evidence()
    (folder / "evidence.json").write_text(json.dumps(evidence, indent=2, default=str))
    (folder / "trials.csv").write_text(to_csv(analysis), encoding="utf-8")
    db = open_database(settings.store.url)
    try:
        return save_report(
            db,
            kind=KIND,
            scope=analysis.plan.study[:128],
            period_start=spans[0][0],
            period_end=spans[-1][3],
            created_at=WallClock().now_ms(),
            markdown=text,
            figures=json.loads(json.dumps(evidence, default=str)),
            charts=charts,
        )
    finally:
        db.dispose()


def save(settings: Settings, name: str, analysis: Analysis) -> None:
    from rampart.agents.registry import agent_code_hash, agent_space
    from rampart.clock import WallClock
    from rampart.store.agent_configs import save_config
    from rampart.store.db import open_database

    if not name or len(name) > 64 or not name.replace("-", "").replace("_", "").isalnum():
        raise ConfigError(f"--save takes a name of letters, digits, '-' and '_'; got {name!r}.")
    if analysis.chosen is None:
        raise ConfigError("No fold found a setting within the constraints: nothing to save.")
    plan = analysis.plan
    unchecked = judge_checks(analysis, agent_code_hash(plan.agent))
    if unchecked:
        raise ConfigError(
            f"Not saved as '{name}': {unchecked}; evidence from an agent that failed or skipped "
            "its lookahead and warm-up checks does not count."
        )
    params = agent_space(plan.agent).canonical(plan.agent, analysis.chosen)
    db = open_database(settings.store.url)
    try:
        save_config(
            db,
            name=name,
            agent=plan.agent,
            params=params,
            evidence=json.loads(json.dumps(analysis.evidence(), default=str)),
            created_at=WallClock().now_ms(),
            created_by=os.environ.get("USER", "operator"),
        )
    finally:
        db.dispose()
    console.print(
        f"Saved as configuration '{name}': {plan.agent} with "
        + ", ".join(f"{k}={v}" for k, v in params.items())
        + ". Give an account this agent and these params to trade it."
    )


def judge_checks(analysis: Analysis, code: str) -> str | None:
    """Why the analysis's checks do not vouch for the agent's code ``code``; None when both
    passed on it."""
    from rampart.rollout.rules.evidence import judge_checks as judged

    return judged([c.as_dict() for c in analysis.checks], code)
