"""The ``rampart`` root group that loads a sub-command's module only when it is asked for.

Building every sub-command (48 of them: each one's signature inspected, each module with its
imports) cost about a tenth of a second of every ``rampart`` call, most of it for commands the
call never runs. The root lists the commands by name and builds one on first use; ``--help``
and a mistyped name still see them all.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib import import_module
from typing import TYPE_CHECKING, Any

import typer
from typer.core import TyperCommand, TyperGroup

if TYPE_CHECKING:
    from typer._click import Context  # what TyperGroup's methods are typed with

LAZY: dict[str, str] = {
    "agents": "rampart.cli.agents:agents_app",
    "replay": "rampart.cli.replay:replay",
    "optimize": "rampart.cli.optimize:optimize",
    "check-lookahead": "rampart.cli.research:check_lookahead",
    "check-warmup": "rampart.cli.research:check_warmup",
    "research": "rampart.cli.research:research_app",
    "simulator": "rampart.cli.sim:simulator",
    "solana-sim": "rampart.cli.solana_sim:solana_sim",
    "soak": "rampart.cli.soak:soak",
    "go-nogo": "rampart.cli.rollout:go_nogo",
    "trace": "rampart.cli.trace:trace",
    "shards": "rampart.cli.shards:shards",
    "feed": "rampart.cli.scale:feed",
    "worker": "rampart.cli.scale:worker",
    "serve": "rampart.cli.scale:serve",
    "deploy": "rampart.cli.deploy:deploy_app",
    "doctor": "rampart.cli.doctor:doctor",
    "preflight": "rampart.cli.preflight:preflight",
    "ops": "rampart.cli.ops:ops_app",
    "incidents": "rampart.cli.ops:incidents_app",
    "token": "rampart.cli.tokens:token_app",
    "secrets": "rampart.cli.secrets:secrets_app",
    "wallet": "rampart.cli.wallet:wallet_app",
    "rollout": "rampart.cli.rollout:rollout_app",
    "alerts": "rampart.cli.rollout:alerts_app",
    "report": "rampart.cli.report:report_app",
    "audit": "rampart.cli.audit:audit_app",
    "review": "rampart.cli.review:review_app",
    "backup": "rampart.cli.backup:backup_app",
    "models": "rampart.cli.models:models_app",
}
"""Sub-command name → ``module:attribute``, a Typer app or a command function, in the order
``rampart --help`` lists them (after the commands :mod:`rampart.cli.main` defines itself)."""


def build(name: str, target: str) -> TyperCommand | TyperGroup:
    """The click command for one entry of :data:`LAZY`, as ``add_typer``/``command`` builds it."""
    module, attr = target.split(":")
    found: typer.Typer | Callable[..., Any] = getattr(import_module(module), attr)
    if isinstance(found, typer.Typer):
        group = typer.main.get_group(found)
        group.name = name
        return group
    holder = typer.Typer(add_completion=False)
    holder.command(name)(found)
    return typer.main.get_command(holder)  # type: ignore[return-value]


class LazyRoot(TyperGroup):
    def list_commands(self, ctx: Context) -> list[str]:
        own = super().list_commands(ctx)
        return [*own, *(n for n in LAZY if n not in own)]

    def get_command(self, ctx: Context, cmd_name: str) -> Any:
        command = self.commands.get(cmd_name)
        if command is None and cmd_name in LAZY:
            command = self.commands[cmd_name] = build(cmd_name, LAZY[cmd_name])
        return command

    def resolve_command(self, ctx: Context, args: list[str]) -> Any:
        if args and args[0] not in self.commands and args[0] not in LAZY:
            # A mistyped name: load them all, so "Did you mean …?" knows every command.
            for name in self.list_commands(ctx):
                self.get_command(ctx, name)
        return super().resolve_command(ctx, args)
