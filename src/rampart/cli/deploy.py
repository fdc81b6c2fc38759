"""``rampart deploy start|step|rollback|finish|status|balance``: blue-green deploys of the
workers and the API traffic (docs/operators/scale.md, "Blue-green"). A refusal is one sentence
and exit code 2. Each change also sets the load balancer's weights when
``rollout.deploy.balancer`` is configured; a balancer that does not answer leaves the change
made (the shards move) and says so, exit code 1: ``rampart deploy balance`` tries again."""

from __future__ import annotations

import time
from typing import Annotated, Any

import typer
from rich.console import Console

from rampart.cli.common import ConfigOpt, friendly, load_settings
from rampart.domain.errors import RampartError

deploy_app = typer.Typer(
    help="Blue-green deploys of the workers: shards move to a new version in gated steps.",
    no_args_is_help=True,
)
console = Console(soft_wrap=True)


def _deployer(config: Any) -> Any:
    from rampart.rollout.deploy import Deployer
    from rampart.store.db import open_database

    settings = load_settings(config)
    db = open_database(settings.store.url)
    rollout = settings.rollout
    return Deployer(
        db,
        settings.scale.shards,
        rollout.gate_list(),
        lambda: int(time.time() * 1000),  # leases and holds are on the wall clock
        lease_ms=int(settings.scale.lease_s * 1000),
        loss_multiple=rollout.loss_multiple,
        balancer=rollout.deploy.balancer,
    )


def _balance(deployer: Any, deploy: Any) -> None:
    """Tell the load balancer; a failure is said, and the exit code is 1 (the deploy moved)."""
    from rampart.rollout.balancer import BalancerError, apply

    try:
        said = apply(deployer.balancer, deploy)
    except BalancerError as err:
        console.print(f"{err.message} The API traffic did not move: `rampart deploy balance`.")
        raise typer.Exit(1) from None
    if said:
        console.print(said)


def _fractions(text: str) -> list[float]:
    try:
        return [float(x.strip().rstrip("%")) / 100 for x in text.split(",")]
    except ValueError:
        raise RampartError(f"--steps are percentages like 10,50,100; got {text!r}.") from None


def _holds(text: str) -> list[float]:
    from rampart.observability.postmortem import parse_duration

    return [parse_duration(x.strip()) / 1000 for x in text.split(",")]


@deploy_app.command("start")
@friendly
def start(
    to: Annotated[str, typer.Option("--to", help="The version the standby workers run.")],
    steps: Annotated[str, typer.Option(help="Shares of the shards per step.")] = "10,50,100",
    holds: Annotated[str, typer.Option(help="How long each step is held.")] = "30m,1h,2h",
    actor: Annotated[str, typer.Option(help="Who deploys (recorded).")] = "operator",
    config: ConfigOpt = None,
) -> None:
    """Move the first step's shards to the standby workers of version --to."""
    deployer = _deployer(config)
    try:
        deploy = deployer.start(to, actor, _fractions(steps), _holds(holds))
    finally:
        deployer.db.dispose()
    console.print(
        f"Deploy {deploy.id}: {deploy.fraction * 100:.0f} % of the shards move from "
        f"{deploy.old} to {deploy.new} (step 1 of {len(deploy.steps)}, held "
        f"{deploy.holds_s[0] / 60:.0f} min before the next)."
    )
    _balance(deployer, deploy)


@deploy_app.command("step")
@friendly
def step(
    actor: Annotated[str, typer.Option(help="Who steps (recorded).")] = "operator",
    config: ConfigOpt = None,
) -> None:
    """Move the next step's shards, once this step is held and its gates pass."""
    deployer = _deployer(config)
    try:
        deploy, check = deployer.step(actor)
    finally:
        deployer.db.dispose()
    console.print(
        f"Step {deploy.step + 1} of {len(deploy.steps)}: {deploy.fraction * 100:.0f} % of the "
        f"shards move to {deploy.new}. The step before passed: " + "; ".join(check.lines())
    )
    _balance(deployer, deploy)


@deploy_app.command("rollback")
@friendly
def rollback(
    actor: Annotated[str, typer.Option(help="Who rolls back (recorded).")] = "operator",
    reason: Annotated[str, typer.Option(help="Why (recorded).")] = "",
    config: ConfigOpt = None,
) -> None:
    """Give every shard back to the old version (no restore: the same handover)."""
    deployer = _deployer(config)
    try:
        deploy = deployer.rollback(actor, reason)
    finally:
        deployer.db.dispose()
    console.print(
        f"Deploy {deploy.id} rolled back: every shard goes back to {deploy.old} at the workers' "
        "next lease round (`rampart deploy status` shows them move)."
    )
    _balance(deployer, deploy)


@deploy_app.command("finish")
@friendly
def finish(
    actor: Annotated[str, typer.Option(help="Who finishes (recorded).")] = "operator",
    config: ConfigOpt = None,
) -> None:
    """End a deploy at 100 %: the new version is the only one; stop the old workers."""
    deployer = _deployer(config)
    try:
        deploy = deployer.finish(actor)
    finally:
        deployer.db.dispose()
    console.print(
        f"Deploy {deploy.id} finished: {deploy.new} trades every shard; the {deploy.old} "
        "workers hold none and can be stopped."
    )
    _balance(deployer, deploy)


@deploy_app.command("balance")
@friendly
def balance(config: ConfigOpt = None) -> None:
    """Set the load balancer's weights to the stored deploy's share again (after it was away)."""
    deployer = _deployer(config)
    try:
        deploy = deployer.state()
    finally:
        deployer.db.dispose()
    if not deployer.balancer.enabled:
        raise RampartError(
            "No load balancer is configured: set rollout.deploy.balancer.weights_file or "
            "runtime_api (docs/operators/scale.md, the load balancer)."
        )
    _balance(deployer, deploy)


@deploy_app.command("status")
@friendly
def status(
    as_json: Annotated[bool, typer.Option("--json", help="Print it as JSON.")] = False,
    config: ConfigOpt = None,
) -> None:
    """The deploy in progress (or the last), shards per version, and the step's gates."""
    deployer = _deployer(config)
    try:
        deploy = deployer.state()
        holders = deployer.holders()
        check = deployer.check(deploy) if deploy is not None else None
    finally:
        deployer.db.dispose()
    if as_json:
        from rampart.cli.tables import print_json

        print_json(
            {
                "deploy": None if deploy is None else deploy.to_dict(),
                "fraction": None if deploy is None else deploy.fraction,
                "shards_by_version": holders,
                "gates": [] if check is None else [r.evidence() for r in check.results],
                "ready": None if check is None else check.ready,
            }
        )
        return
    by_version = ", ".join(f"{v}: {n}" for v, n in sorted(holders.items())) or "none held"
    if deploy is None:
        console.print(f"No deploy has run. Shards held by version: {by_version}.")
        return
    console.print(
        f"Deploy {deploy.id} from {deploy.old} to {deploy.new}: {deploy.status}, "
        f"step {deploy.step + 1} of {len(deploy.steps)}, {deploy.fraction * 100:.0f} % of the "
        f"shards on {deploy.new}. Shards held by version: {by_version}."
    )
    if deploy.status == "rolled_back":
        by = "its gates" if deploy.actor == "system" else deploy.actor
        console.print(f"Rolled back by {by}" + (f": {deploy.reason}" if deploy.reason else "."))
    if check is not None and deploy.status == "running":
        console.print(f"This step ({check.accounts} accounts moved):")
        for line in check.lines():
            console.print(f"  {line}")
