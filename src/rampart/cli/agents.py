"""``rampart agents``: the agents one can name, and ``rampart agents new NAME``, a skeleton
agent of one's own with its test."""

from __future__ import annotations

import keyword
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from rampart.cli.common import friendly
from rampart.domain.errors import RampartError

agents_app = typer.Typer(
    help="List the agents, or write a skeleton of your own (rampart agents new NAME).",
    invoke_without_command=True,
)
console = Console()


@agents_app.callback()
@friendly
def agents_list(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print the agents as JSON.")] = False,
) -> None:
    """List the built-in agents and those installed packages register."""
    if ctx.invoked_subcommand is not None:
        return
    from rampart.agents.plugins import installed_agents
    from rampart.agents.registry import agent_params, describe_agents

    installed = installed_agents()
    if as_json:
        from rampart.cli.tables import print_json

        print_json(
            [
                {"name": name, "description": line, "params": agent_params(name)}
                for name, line in describe_agents()
            ]
            + [{"name": name, "installed": target} for name, target in installed.items()]
        )
        return
    for name, line in describe_agents():
        console.print(f"[bold]{name}[/]: {line}")
    for name, target in installed.items():
        console.print(f"[bold]{name}[/]: installed ({target})", highlight=False)
    console.print(
        "Your own: --agent path/to/file.py:ClassName or package.module:ClassName "
        "(rampart agents new NAME writes one).",
        highlight=False,
    )


@agents_app.command("new")
@friendly
def agents_new(
    name: Annotated[str, typer.Argument(help="The agent's name, in snake_case (my_agent).")],
    out: Annotated[
        Path, typer.Option("--dir", help="Where to write NAME.py and test_NAME.py.")
    ] = Path("."),
    template: Annotated[
        str,
        typer.Option(
            help="What the agent starts as: basic (a close crossing its EMA), multi-timeframe "
            "(the same, only with the hourly trend), trailing (its stop trails the price), "
            "scale-out (sells in steps) or another in rampart/agents/templates."
        ),
    ] = "basic",
) -> None:
    """Write a working agent (NAME.py) and its test (test_NAME.py) to build on."""
    if not name.isidentifier() or keyword.iskeyword(name) or name != name.lower():
        raise RampartError(
            f"{name!r} is not an agent name: use lower-case letters, digits and _ "
            "(starting with a letter), such as my_agent."
        )
    agent_file, test_file = out / f"{name}.py", out / f"test_{name}.py"
    for path in (agent_file, test_file):
        if path.exists():
            raise RampartError(f"{path} already exists: choose another name or --dir.")
    if not out.is_dir():
        raise RampartError(f"There is no folder {out}.")
    from rampart.agents.templates import class_name, render

    agent_source, test_source = render(template, name)
    agent_file.write_text(agent_source, encoding="utf-8")
    test_file.write_text(test_source, encoding="utf-8")
    spec = f"{agent_file}:{class_name(name)}"
    console.print(
        f"Wrote {agent_file} and {test_file}. Try it: rampart replay --data FILE --agent "
        f"{spec}; test it: pytest {test_file}.",
        highlight=False,
    )
