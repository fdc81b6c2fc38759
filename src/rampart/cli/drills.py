"""``rampart ops kill-drill``: the launch checklist's kill-switch drill, run by the service.

The drill needs the running engine (it engages the kill switch and releases it), so the
command asks the running service through its HTTP API with an admin token, and reports what
the service did. Every failure is one sentence.
"""

from __future__ import annotations

import os
from decimal import Decimal
from typing import Annotated, Any

import typer
from rich.console import Console

from rampart.cli.common import ConfigOpt, friendly
from rampart.domain.errors import RampartError

console = Console(soft_wrap=True)
PATH = "/api/v1/admin/drills/kill-switch"
SIM_START_MS = 1_767_225_600_000
"""Where the position-loss drill's simulated clock starts (2026-01-01): a label, no more."""


def _service_url(config: Any, url: str | None) -> str:
    if url:
        return url.rstrip("/")
    from rampart.cli.common import load_settings

    api = load_settings(config).api
    host = "127.0.0.1" if api.host in ("0.0.0.0", "::", "") else api.host  # noqa: S104 - compared, not bound: a wildcard is reached on loopback
    return f"http://{host}:{api.port}"


def _answer(response: Any) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:200] or f"HTTP {response.status_code}"
    return str(body.get("error") or body.get("detail") or body)


@friendly
def kill_drill(
    url: Annotated[
        str | None,
        typer.Option("--url", help="The running service's API (default: from the settings)."),
    ] = None,
    token: Annotated[
        str | None,
        typer.Option(
            "--token",
            help="An admin token (default: RAMPART_ADMIN_TOKEN); prefer the variable.",
            show_default=False,
        ),
    ] = None,
    config: ConfigOpt = None,
) -> None:
    """Engage the kill switch on the running service and release it at once (no position is
    closed); recorded for GO/NO-GO."""
    import httpx

    secret = token or os.environ.get("RAMPART_ADMIN_TOKEN", "")
    if not secret:
        raise RampartError(
            "The drill needs an admin token: set RAMPART_ADMIN_TOKEN (make one with "
            "`rampart token create --scope admin`)."
        )
    base = _service_url(config, url)
    try:
        response = httpx.post(
            base + PATH, headers={"Authorization": f"Bearer {secret}"}, timeout=30.0
        )
    except httpx.HTTPError:
        raise RampartError(
            f"No Rampart service answers at {base}; start it (`rampart run`) or pass --url."
        ) from None
    if response.status_code in (401, 403):
        raise RampartError("The service refused the token: it must be an active admin token.")
    if response.status_code != 200:
        raise RampartError(f"The drill was not run: {_answer(response)}")
    result = response.json()
    console.print(result.get("message") or f"Kill-switch drill done: {result}", highlight=False)
    console.print("Recorded: `rampart go-nogo` counts it for 7 days.")


@friendly
def position_loss_drill(
    stage: Annotated[
        str, typer.Option("--stage", help="The rollout stage whose kill amount is drilled.")
    ] = "internal",
    config: ConfigOpt = None,
) -> None:
    """Walk the stage's position-loss kill on a simulated clock in a paper engine of its own
    (no real account is touched): a loss past the amount, the kill switch on every account,
    the PositionLossKill alert, the operator's release."""
    import asyncio

    from rampart.cli.common import load_settings
    from rampart.rollout.drill_position_loss import position_loss_drill as walk

    rollout = load_settings(config).rollout
    found = rollout.stage(stage)
    if found is None:
        raise RampartError(
            f"There is no rollout stage '{stage}' ({', '.join(rollout.stage_names())})."
        )
    limit = found.kill_on_position_loss or Decimal(0)
    drill = asyncio.run(walk(limit, SIM_START_MS, stage))
    console.print(drill.message(), highlight=False)
    console.print("Position-loss drill passed (simulated: no real account was touched).")
