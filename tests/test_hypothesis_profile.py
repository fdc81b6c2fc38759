"""Property tests cannot fail because the machine is loaded: the suite's Hypothesis
profile (tests/conftest.py) has no per-example deadline and no too_slow health check, every
property test inherits it, and no test's own settings bring either back."""

from __future__ import annotations

import ast
from pathlib import Path

from hypothesis import HealthCheck, settings

from tests.risk import test_anomalies  # the module: its test is not collected twice here

TESTS = Path(__file__).resolve().parent


def test_the_suite_profile_has_no_deadline_and_no_too_slow_check() -> None:
    assert settings.default.deadline is None
    assert HealthCheck.too_slow in settings.default.suppress_health_check
    prop = test_anomalies.test_a_price_inside_the_band_is_never_off
    used = prop._hypothesis_internal_use_settings  # type: ignore[attr-defined]
    assert used.deadline is None and HealthCheck.too_slow in used.suppress_health_check
    assert used.max_examples == 100  # Hypothesis's own count, kept


def _own_settings() -> list[tuple[str, ast.keyword]]:
    found = []
    for path in TESTS.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "settings":
                where = f"{path.relative_to(TESTS)}:{node.lineno}"
                found += [(where, k) for k in node.keywords]
    return found


def test_no_test_brings_back_a_deadline_or_the_too_slow_check() -> None:
    wrong = []
    for where, keyword in _own_settings():
        text = ast.unparse(keyword.value)
        if keyword.arg == "deadline" and text != "None":
            wrong.append(f"{where} deadline={text}")
        if keyword.arg == "suppress_health_check" and not (
            "too_slow" in text or text == "list(HealthCheck)"
        ):
            wrong.append(f"{where} suppress_health_check={text} (name too_slow too)")
    assert wrong == []
