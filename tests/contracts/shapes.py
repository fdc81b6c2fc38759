"""Comparing an answer's shape with a service's documented example: the same keys, the same
JSON types, the same nesting. Values are not compared (the examples' values are examples)."""

from __future__ import annotations

import json
from collections.abc import Collection
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent


def fixture(service: str, name: str) -> Any:
    """One fixture file of ``tests/contracts/<service>/``, parsed."""
    return json.loads((HERE / service / name).read_text())


def kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def shape_errors(
    documented: Any,
    actual: Any,
    path: str = "$",
    *,
    optional: Collection[str] = (),
    nullable: Collection[str] = (),
) -> list[str]:
    """Every way ``actual`` departs from the shape of ``documented``: a missing key, a key the
    service does not send, a different JSON type. ``optional`` names paths (``$.a.b``) that may
    be absent; ``nullable`` paths that may be null or of the documented type. Arrays compare
    each element with the documented array's first element."""
    errors: list[str] = []
    if path in nullable and actual is None:
        return errors
    want, got = kind(documented), kind(actual)
    if path in nullable and documented is None:
        return errors
    if want != got:
        return [f"{path}: documented as {want}, answered {got}"]
    if isinstance(documented, dict):
        for key, value in documented.items():
            sub = f"{path}.{key}"
            if key not in actual:
                if sub not in optional:
                    errors.append(f"{sub}: documented, missing")
                continue
            errors += shape_errors(value, actual[key], sub, optional=optional, nullable=nullable)
        errors += [
            f"{path}.{k}: not a field the service sends" for k in actual if k not in documented
        ]
    elif isinstance(documented, list) and documented:
        for item in actual:
            errors += shape_errors(
                documented[0], item, f"{path}[]", optional=optional, nullable=nullable
            )
    return errors


__all__ = ["HERE", "fixture", "kind", "shape_errors"]
