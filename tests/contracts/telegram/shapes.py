"""Telegram's words, for both contract tests: the fixtures beside this file, the Bot API's field
tables (``bot_api.json``) and the checks made with them.

- :func:`object_problems`: a JSON value against a documented type: every field the tables mark
  as always present is there, every field present is one Telegram documents for that object,
  each with its documented JSON type, nested objects likewise.
- :func:`answer_problems`: a whole HTTP answer: the envelope Telegram documents (``ok`` and
  ``result``, or ``ok: false`` with ``error_code`` equal to the HTTP status, ``description``
  and, for a 429, ``parameters.retry_after``) and the result against the method's return type.
- :func:`request_problems`: what a client sent, against the method's documented parameters
  (form values are strings, as python-telegram-bot sends them, and are read as Telegram reads
  them: numbers and JSON-serialized objects parsed).
- :func:`missing`: what of a fixture's answer an answer lacks (a key, or a JSON kind).
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent

ENVELOPE_OK = {"ok", "result", "description"}
ENVELOPE_ERROR = {"ok", "error_code", "description", "parameters"}
PREFIX = {
    400: "Bad Request: ",
    401: "Unauthorized",
    403: "Forbidden: ",
    404: "Not Found",
    409: "Conflict: ",
    429: "Too Many Requests: retry after ",
}
"""How the Bot API server starts a description for each status (telegram-bot-api/Client.cpp)."""


@cache
def api() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((HERE / "bot_api.json").read_text())
    return loaded


@cache
def fixture(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((HERE / f"{name}.json").read_text())
    return loaded


def fixture_names() -> list[str]:
    return sorted(p.stem for p in HERE.glob("*.json") if p.stem != "bot_api")


def success_names() -> list[str]:
    return [n for n in fixture_names() if fixture(n)["status"] == 200]


def error_names() -> list[str]:
    return [n for n in fixture_names() if fixture(n)["status"] != 200]


# -- one value against its documented type ------------------------------------------------------


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    return type(value).__name__


def object_problems(value: Any, types: list[str], where: str) -> list[str]:
    """What is wrong with ``value`` as one of ``types`` (names as the tables give them); []
    when it is one of them."""
    found: list[str] = []
    for name in types:
        wrong = _one(value, name, where)
        if not wrong:
            return []
        found = found or wrong
    return found


def _one(value: Any, name: str, where: str) -> list[str]:
    if name.startswith("Array of "):
        if not isinstance(value, list):
            return [f"{where}: {_kind(value)} where Telegram sends an array ({name})"]
        inner = name.removeprefix("Array of ")
        return [p for i, item in enumerate(value) for p in _one(item, inner, f"{where}[{i}]")]
    scalar = {
        "Integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
        "Float": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
        "String": lambda v: isinstance(v, str),
        "Boolean": lambda v: isinstance(v, bool),
        "True": lambda v: v is True,
    }
    if name in scalar:
        ok = scalar[name](value)
        return [] if ok else [f"{where}: {_kind(value)} {value!r:.60} where Telegram sends {name}"]
    table = api()["types"].get(name)
    if table is None:
        return [f"{where}: a {name}, whose table is not in bot_api.json (add it from the docs)"]
    if "one_of" in table:
        return object_problems(value, table["one_of"], where)
    if not isinstance(value, dict):
        return [f"{where}: {_kind(value)} where Telegram sends a {name} object"]
    fields: dict[str, Any] = table["fields"]
    problems = [
        f"{where}.{field}: missing, but every {name} carries it"
        for field, spec in fields.items()
        if spec["required"] and field not in value
    ]
    for key, item in value.items():
        spec = fields.get(key)
        if spec is None:
            problems.append(f"{where}.{key}: not a field of {name} ({table['href']})")
        else:
            problems += object_problems(item, spec["types"], f"{where}.{key}")
    return problems


# -- a whole answer -------------------------------------------------------------------------------


def answer_problems(
    method: str, status: int, body: Any, headers: dict[str, str] | None = None
) -> list[str]:
    """What is wrong with an HTTP answer to ``method`` as Telegram documents its answers."""
    if not isinstance(body, dict):
        return [f"the body is {_kind(body)}, not a JSON object"]
    if status == 200:
        problems = [f"{k}: not in a successful answer" for k in set(body) - ENVELOPE_OK]
        if body.get("ok") is not True:
            problems.append(f"ok is {body.get('ok')!r} on HTTP 200")
        if "description" in body and not isinstance(body["description"], str):
            problems.append("description is not a string")
        if "result" not in body:
            return [*problems, "no result"]
        returns = api()["methods"][method]["returns"]
        return problems + object_problems(body["result"], returns, "result")
    problems = [f"{k}: not in an error answer" for k in set(body) - ENVELOPE_ERROR]
    if body.get("ok") is not False:
        problems.append(f"ok is {body.get('ok')!r} on HTTP {status}")
    if body.get("error_code") != status:
        problems.append(f"error_code {body.get('error_code')!r} is not the HTTP status {status}")
    description = body.get("description")
    if not isinstance(description, str):
        problems.append("no description")
    elif status in PREFIX and not description.startswith(PREFIX[status]):
        problems.append(f"description {description!r} does not start {PREFIX[status]!r}")
    if "parameters" in body:
        problems += object_problems(body["parameters"], ["ResponseParameters"], "parameters")
    if status == 429:
        wait = (body.get("parameters") or {}).get("retry_after")
        if not isinstance(wait, int) or wait <= 0:
            problems.append("a 429 without parameters.retry_after")
        elif description != f"Too Many Requests: retry after {wait}":
            problems.append(f"description {description!r} does not say retry after {wait}")
        elif (headers or {}).get("Retry-After") != str(wait):
            problems.append(f"no Retry-After: {wait} header")
    return problems


# -- what a client sends --------------------------------------------------------------------------


def _as_sent(value: Any, types: list[str]) -> Any:
    """A form value as Telegram reads it for a parameter of ``types``."""
    if not isinstance(value, str) or "String" in types:
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


def request_problems(method: str, params: dict[str, Any]) -> list[str]:
    """What is wrong with ``params`` sent to ``method`` (uploads arrive as a dict holding the
    file's name and bytes)."""
    table = api()["methods"].get(method)
    if table is None:
        return [f"{method}: not a method of the Bot API tables in bot_api.json"]
    documented: dict[str, Any] = table["params"]
    problems = [
        f"{method}.{name}: required, not sent"
        for name, spec in documented.items()
        if spec["required"] and name not in params
    ]
    for name, value in params.items():
        spec = documented.get(name)
        if spec is None:
            problems.append(f"{method}.{name}: not a parameter of {method} ({table['href']})")
            continue
        types = spec["types"]
        if "InputFile" in types and isinstance(value, dict) and {"filename", "data"} <= set(value):
            continue
        others = [t for t in types if t != "InputFile"]
        problems += object_problems(_as_sent(value, others), others, f"{method}.{name}")
    return problems


# -- a fixture's answer against another -----------------------------------------------------------


def missing(expected: Any, got: Any, where: str = "result") -> list[str]:
    """What ``got`` lacks of ``expected``'s shape: a key, or a value of another JSON kind
    (values themselves may differ: ids, dates, names). A list of as many items as the
    fixture's is compared item by item, any other against the fixture's first item."""
    if _kind(expected) != _kind(got):
        return [f"{where}: {_kind(got)} where the fixture has {_kind(expected)}"]
    if isinstance(expected, dict):
        out: list[str] = []
        for key, value in expected.items():
            if key not in got:
                out.append(f"{where}.{key}: missing (the fixture has {value!r:.60})")
            else:
                out += missing(value, got[key], f"{where}.{key}")
        return out
    if isinstance(expected, list) and expected:
        if not got:
            return [f"{where}: empty where the fixture has {len(expected)} item(s)"]
        # The same number of items: item by item (updates); else each like the first (sizes).
        pairs = (
            zip(expected, got, strict=True)
            if len(got) == len(expected)
            else ((expected[0], item) for item in got)
        )
        return [p for i, (e, g) in enumerate(pairs) for p in missing(e, g, f"{where}[{i}]")]
    return []
