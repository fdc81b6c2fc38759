"""Every `rampart ...` command the panel suggests exists in the command line, with the options
it names: an operator who copies one from a page must not meet "No such command".

The commands are found twice: in the templates' source (so a branch a test service never
renders is still read) and in every page as an admin sees it (so text the Python code puts on a
page is read too).
"""

from __future__ import annotations

import html
import re
from typing import Any

import typer

from rampart.api.panel.web import HERE
from rampart.cli.main import app
from tests.api.conftest import LiveApi
from tests.panel.panel_http import sign_in

COMMAND = re.compile(r"\brampart((?:[ \t]+[A-Za-z0-9_\-<>.=/]+)+)")
PAGES = (
    "/panel",
    "/panel/login",
    "/panel/accounts",
    "/panel/accounts/alice",
    "/panel/trades",
    "/panel/trading",
    "/panel/launch",
    "/panel/reports",
    "/panel/operations",
)
ROOT = typer.main.get_command(app)


def _words(text: str) -> list[str]:
    """Each `rampart ...` mention in ``text`` (tags removed), as its words."""
    plain = html.unescape(re.sub(r"<[^>]+>", "", text))
    return [m.group(1).split() for m in COMMAND.finditer(plain)]  # type: ignore[misc]


def _group(command: Any) -> bool:
    # Typer carries its own click: a group is what has sub-commands.
    return callable(getattr(command, "get_command", None))


def _resolve(words: list[str]) -> str | None:
    """Why ``rampart <words>`` is not a command of ours (None: it is). Words after the command
    that are not options (a HASH, a path) are its arguments; an option must be one it has."""
    command: Any = ROOT
    ctx = ROOT.make_context("rampart", [], resilient_parsing=True)
    path = ["rampart"]
    for word in words:
        if word.startswith("-"):
            name = word.split("=", 1)[0]
            known = {opt for p in command.params for opt in (*p.opts, *p.secondary_opts)}
            if name not in known:
                return f"`{' '.join(path)}` has no option {name}"
            continue
        if _group(command):
            sub = command.get_command(ctx, word)
            if sub is None:
                return f"`{' '.join([*path, word])}` is not a command"
            command, path = sub, [*path, word]
            ctx = sub.make_context(word, [], parent=ctx, resilient_parsing=True)
            continue
        # An argument of the command (HASH, a file): the command itself exists.
    if _group(command):
        return f"`{' '.join(path)}` is a group, not a command"
    return None


def test_the_walker_refuses_a_missing_command_and_option() -> None:
    assert _resolve(["backup", "verify", "--restore-drill"]) is None
    assert _resolve(["audit", "verify", "--expect-head", "HASH"]) is None
    assert _resolve(["backup", "drill"]) == "`rampart backup drill` is not a command"
    assert (
        _resolve(["backup", "verify", "--drill"]) == "`rampart backup verify` has no option --drill"
    )
    assert _resolve(["backup"]) == "`rampart backup` is a group, not a command"


def test_every_command_in_the_templates_exists() -> None:
    found: dict[str, str] = {}
    mentions = 0
    for template in sorted((HERE / "templates").glob("*.html")):
        for words in _words(template.read_text(encoding="utf-8")):
            mentions += 1
            problem = _resolve(words)
            if problem is not None:
                found[f"{template.name}: rampart {' '.join(words)}"] = problem
    assert mentions >= 4, "the templates name commands (token create, doctor, ...)"
    assert found == {}


def test_every_command_on_the_pages_exists(shared: LiveApi) -> None:
    client = sign_in(shared)
    seen: list[str] = []
    problems: dict[str, str] = {}
    for path in PAGES:
        page = client.get(path)
        assert page.status_code == 200, path
        for words in _words(page.text):
            seen.append(" ".join(words))
            problem = _resolve(words)
            if problem is not None:
                problems[f"{path}: rampart {' '.join(words)}"] = problem
    assert seen, "the pages suggest commands (doctor, token create, ...): the walker found none"
    assert problems == {}
