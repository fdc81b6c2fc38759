"""Reading the Binance fixtures and comparing an answer's shape with them.

``wire`` turns a recorded answer into what Binance puts on the wire: ccxt's recorder wrote many
integers as strings (``"orderId": "9780331417"``), which Binance's reference shows as JSON
numbers; under the keys below a string of digits becomes an integer. Every other string stays
a string: Binance sends prices, quantities and commissions as decimal strings.

``differences(real, other)`` lists where ``other`` does not have the shape of ``real``: a key
``real`` has that ``other`` lacks (but for Binance's conditional order fields), or a value of
another JSON type (a decimal string for a decimal string, an integer for an integer, …).
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent

INTEGER_KEYS = frozenset(
    {
        "orderId", "orderListId", "transactTime", "transactionTime", "time", "updateTime",
        "workingTime", "trailingTime", "trailingDelta", "tradeId", "id", "uid",
        "makerCommission", "takerCommission", "buyerCommission", "sellerCommission",
        "serverTime", "closeTime", "openTime", "firstId", "lastId", "count", "mins",
        "baseAssetPrecision", "quotePrecision", "quoteAssetPrecision",
        "baseCommissionPrecision", "quoteCommissionPrecision", "limit", "maxNumOrders",
        "maxNumAlgoOrders", "avgPriceMins", "minTrailingAboveDelta", "maxTrailingAboveDelta",
        "minTrailingBelowDelta", "maxTrailingBelowDelta", "intervalNum", "code",
        "lastUpdateId",
    }
)  # fmt: skip
CONDITIONAL = frozenset(
    {
        "icebergQty",
        "preventedMatchId",
        "preventedQuantity",
        "stopPrice",
        "strategyId",
        "strategyType",
        "trailingDelta",
        "trailingTime",
        "usedSor",
        "workingFloor",
        "pegPriceType",
        "pegOffsetType",
        "pegOffsetValue",
        "peggedPrice",
        "expiryReason",
    }
)
"""Order fields Binance sends only when they apply (rest-api.md, "Conditional fields in Order
Responses")."""
_INTEGER = re.compile(r"^-?\d+$")
_DECIMAL = re.compile(r"^-?\d+\.\d+$")


def load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((HERE / f"{name}.json").read_text())
    return data


def example(name: str, which: int | str = 0) -> dict[str, Any]:
    examples = load(name)["examples"]
    if isinstance(which, int):
        found: dict[str, Any] = examples[which]
        return found
    return next(e for e in examples if which in e["name"])


def wire(value: Any, key: str = "") -> Any:
    if isinstance(value, dict):
        return {k: wire(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [wire(v, key) for v in value]
    if key in INTEGER_KEYS and isinstance(value, str) and _INTEGER.match(value):
        return int(value)
    return value


def kind(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "decimal string" if _DECIMAL.match(value) else "string"
    if value is None:
        return "null"
    return "object" if isinstance(value, dict) else "array"


def differences(real: Any, other: Any, where: str = "$") -> list[str]:
    out: list[str] = []
    looser = kind(real) == "string" and kind(other) == "decimal string"
    if kind(real) != kind(other) and not looser:
        return [f"{where}: {kind(other)} where Binance sends a {kind(real)}"]
    if isinstance(real, dict):
        for key, value in real.items():
            if key not in other:
                if key not in CONDITIONAL:
                    out.append(f"{where}.{key}: missing")
                continue
            out.extend(differences(value, other[key], f"{where}.{key}"))
    elif isinstance(real, list) and real:
        out.extend(_items(real, other, where))
    return out


def _items(real: list[Any], other: list[Any], where: str) -> list[str]:
    """Items of a list: each compared with the real item of its kind (filters by filterType,
    order reports by type), and every filter the real list holds present in the other."""
    key = next((k for k in ("filterType", "type") if all(_has(r, k) for r in real)), None)
    if key is None:
        return [
            d for i, item in enumerate(other) for d in differences(real[0], item, f"{where}[{i}]")
        ]
    kinds = {r[key]: r for r in reversed(real)}
    out = [
        f"{where}: no {key} {k}"
        for k in kinds
        if key == "filterType" and not any(_has(o, key, k) for o in other)
    ]
    for i, item in enumerate(other):
        match = kinds.get(item.get(key)) if isinstance(item, dict) else None
        out.extend(differences(match if match is not None else real[0], item, f"{where}[{i}]"))
    return out


def _has(item: Any, key: str, value: Any = None) -> bool:
    return isinstance(item, dict) and key in item and (value is None or item[key] == value)


def decimals(text: str) -> int:
    return -Decimal(text).as_tuple().exponent  # type: ignore[operator]
