"""One way in: the fronts reach the trading core, the store and the venues only
through the operator facade, and one action taken from the HTTP API and from the bot is the same
facade method, audited once each (numbered in the facade's sequence) and answered with the same
sentence."""

from __future__ import annotations

import ast
import asyncio
import configparser
import inspect
from html import escape
from pathlib import Path

import httpx

from rampart.api.app import create_app
from rampart.api.context import ApiContext
from rampart.observability.metrics import Metrics
from rampart.runtime.health import Health
from rampart.security.tokens import create_token
from rampart.store.audit import FACADE_SEQ, AuditLog
from rampart.telegram.bot import RampartBot, build_bot
from tests.telegram.conftest import BOB, OPERATOR, TgService

ROOT = Path(__file__).resolve().parents[2]
FRONTS = ("rampart.api", "rampart.telegram")
FORBIDDEN = (
    "rampart.store",
    "rampart.trading",
    "rampart.venues",
    "rampart.rollout.controller",
    "rampart.wiring",
    "rampart.fleet",
    "rampart.loops",
    "rampart.operator.session",
    "rampart.operator.engine_actions",
)
REACHES_PAST = ("session", "engine")
"""What a front never reads of anything: the facade is all it is handed."""


def _contract() -> configparser.SectionProxy:
    config = configparser.ConfigParser()
    config.read(ROOT / ".importlinter")
    return config["importlinter:contract:fronts-through-facade"]


def _lines(value: str) -> list[str]:
    return [line.strip() for line in value.splitlines() if line.strip()]


def test_the_forbidden_contract_holds_the_whole_rule_and_ignores_nothing() -> None:
    contract = _contract()
    assert contract["type"] == "forbidden"
    assert _lines(contract["source_modules"]) == list(FRONTS)
    assert sorted(_lines(contract["forbidden_modules"])) == sorted(FORBIDDEN)
    # The ignore list may only shrink, and it is empty: no front keeps a way around the facade.
    assert _lines(contract.get("ignore_imports", "")) == []


def _imported(path: Path) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found += [(node.lineno, node.module)]
            found += [(node.lineno, f"{node.module}.{alias.name}") for alias in node.names]
    return found


def test_no_front_module_imports_a_forbidden_package_even_for_type_checking() -> None:
    """The same rule read from the sources (the contract is checked by lint-imports; this
    keeps it true where lint is not run, and names the line)."""
    bad = []
    for front in FRONTS:
        for path in sorted((ROOT / "src" / Path(*front.split("."))).rglob("*.py")):
            for line, name in _imported(path):
                if any(name == f or name.startswith(f + ".") for f in FORBIDDEN):
                    bad.append(f"{path.relative_to(ROOT)}:{line} {name}")
    assert bad == []


def test_no_front_reaches_past_the_facade_to_the_session_or_the_engine() -> None:
    """The API, the panel and the bot are handed the operator facade only: none of them reads
    a ``.session`` or an ``.engine`` (of the facade or of anything), and neither the API's
    context nor the bot is built with a session."""
    bad = []
    for front in FRONTS:
        for path in sorted((ROOT / "src" / Path(*front.split("."))).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                if isinstance(node, ast.Attribute) and node.attr in REACHES_PAST:
                    bad.append(f"{path.relative_to(ROOT)}:{node.lineno} {ast.unparse(node)}")
    assert bad == []
    built = [
        inspect.signature(ApiContext).parameters,
        inspect.signature(ApiContext.build).parameters,
        inspect.signature(RampartBot).parameters,
        inspect.signature(build_bot).parameters,
    ]
    assert [p for params in built for p in params if "session" in p] == []


def _api(svc: TgService) -> tuple[httpx.AsyncClient, str]:
    """The HTTP API over the bot's session and its very Operator (as the service wires them)."""
    ctx = ApiContext(svc.settings, svc.ops, Health(), Metrics(), svc.lock, svc.operator)
    client = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(ctx)), base_url="http://api"
    )
    return client, create_token(svc.session.db, "admin", None, "ops", svc.ops.now_ms())


def test_a_pause_from_the_api_and_from_the_bot_is_one_facade_action_each(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with TgService(tmp_path) as svc:
            await svc.onboard(BOB)
            account = f"tg-{BOB}"
            client, token = _api(svc)
            log = AuditLog(svc.session.db)
            before = log.head()[0]

            said = await svc.send(OPERATOR, f"/pause_user {account} drill one")
            await svc.send(OPERATOR, f"/resume_user {account} drill over")
            answer = await client.post(
                f"/api/v1/admin/accounts/{account}/pause",
                json={"reason": "drill two"},
                headers={"Authorization": f"Bearer {token}"},
            )
            assert answer.status_code == 200, answer.text
            await client.aclose()

            entries = [e for e in log.tail(1000) if e.seq > before]
            pauses = [e for e in entries if e.action == "operator.pause"]
            bot_actor, api_actor = f"telegram-operator:{OPERATOR}", "api:ops"
            # Exactly one entry of the action from each front, each in the facade's numbering:
            # pause, resume, pause follow one another with no gap between the two fronts.
            assert [(e.actor, e.detail["reason"]) for e in pauses] == [
                (bot_actor, "drill one"),
                (api_actor, "drill two"),
            ]
            numbered = [e for e in entries if FACADE_SEQ in e.detail]
            assert [e.action for e in numbered] == [
                "operator.pause",
                "operator.resume",
                "operator.pause",
            ]
            seqs = [e.detail[FACADE_SEQ] for e in numbered]
            assert seqs == list(range(seqs[0], seqs[0] + 3))
            # Audited once: the bot adds no record of its own beside the facade's entry.
            assert [e for e in entries if e.actor == bot_actor and e not in numbered] == []
            # One sentence, made by the facade: the bot shows it (HTML-escaped), the API sends it.
            message = answer.json()["message"]
            assert message == f"Account {account} paused by {api_actor}; 0 entry orders canceled."
            assert said == [escape(message.replace(api_actor, bot_actor))]
            assert log.verify().ok

    asyncio.run(scenario())
