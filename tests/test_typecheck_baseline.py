"""scripts/typecheck.py: parsing mypy's output and judging it against the baseline (no mypy run)."""

from __future__ import annotations

import importlib.util
import sys
from collections import Counter
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parent.parent


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("typecheck", ROOT / "scripts" / "typecheck.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["typecheck"] = module
    spec.loader.exec_module(module)
    return module


tc = _load()

STRICT = ("rampart.domain", "rampart.rollout.rules")
OUTPUT = """\
src/rampart/api/server.py:10: error: Argument 1 to "f" has type "int"; expected "str"  [arg-type]
src/rampart/api/server.py:10: note: See https://mypy.rtfd.io
src/rampart/api/server.py:42: error: Argument 2 to "g" has type "None"; expected "str"  [arg-type]
src/rampart/cli/main.py:7: error: "Notifier" has no attribute "add"  [attr-defined]
Found 3 errors in 2 files (checked 3 source files)
"""


def test_parse_keeps_errors_and_drops_notes_and_summary() -> None:
    errors = tc.parse_errors(OUTPUT)
    assert [(e.path, e.line, e.code) for e in errors] == [
        ("src/rampart/api/server.py", 10, "arg-type"),
        ("src/rampart/api/server.py", 42, "arg-type"),
        ("src/rampart/cli/main.py", 7, "attr-defined"),
    ]
    assert errors[2].text == OUTPUT.splitlines()[3]


def test_count_keys_on_file_and_code_not_line() -> None:
    counts = tc.count(tc.parse_errors(OUTPUT), STRICT)
    assert counts == Counter(
        {
            ("src/rampart/api/server.py", "arg-type"): 2,
            ("src/rampart/cli/main.py", "attr-defined"): 1,
        }
    )


def test_same_counts_pass_even_when_lines_move() -> None:
    baseline = tc.count(tc.parse_errors(OUTPUT), STRICT)
    moved = tc.parse_errors(OUTPUT.replace(":42:", ":99:"))
    verdict = tc.compare(baseline, moved, STRICT)
    assert verdict.ok and verdict.fewer == 0
    assert "fewer" not in verdict.message


def test_a_grown_count_fails_and_prints_that_file_and_codes_errors() -> None:
    errors = tc.parse_errors(OUTPUT)
    baseline = tc.count(errors, STRICT)
    baseline[("src/rampart/api/server.py", "arg-type")] = 1
    verdict = tc.compare(baseline, errors, STRICT)
    assert not verdict.ok
    assert "src/rampart/api/server.py has 2 [arg-type] error(s), the baseline allows 1" in (
        verdict.message
    )
    assert OUTPUT.splitlines()[2] in verdict.message
    assert "attr-defined" not in verdict.message


def test_an_error_in_a_new_file_fails() -> None:
    errors = tc.parse_errors(OUTPUT)
    verdict = tc.compare(Counter[tuple[str, str]](), errors[2:], STRICT)
    assert not verdict.ok
    assert "baseline allows 0" in verdict.message


def test_shrunk_counts_pass_and_say_how_to_lock_in_the_gain() -> None:
    errors = tc.parse_errors(OUTPUT)
    baseline = tc.count(errors, STRICT)
    verdict = tc.compare(baseline, errors[1:], STRICT)
    assert verdict.ok and verdict.fewer == 1
    assert "1 fewer errors than the baseline" in verdict.message
    assert "scripts/typecheck.py --update" in verdict.message


def test_a_strict_package_error_fails_even_if_baselined() -> None:
    line = (
        "src/rampart/domain/money.py:3: error: Function lacks a type annotation  [no-untyped-def]"
    )
    errors = tc.parse_errors(line)
    baseline = Counter({("src/rampart/domain/money.py", "no-untyped-def"): 5})
    verdict = tc.compare(baseline, errors, STRICT)
    assert not verdict.ok
    assert "strictly checked packages" in verdict.message and line in verdict.message
    assert tc.count(errors, STRICT) == Counter()


def test_strict_means_the_package_and_below_only() -> None:
    assert tc.is_strict("src/rampart/rollout/rules/__init__.py", STRICT)
    assert tc.is_strict("src/rampart/rollout/rules/gates.py", STRICT)
    assert not tc.is_strict("src/rampart/rollout/controller.py", STRICT)
    assert not tc.is_strict("src/rampart/domain_extra.py", STRICT)


def test_strict_packages_come_from_mypy_ini() -> None:
    strict = tc.strict_modules((ROOT / "mypy.ini").read_text())
    assert set(strict) == {
        "rampart.domain",
        "rampart.risk",
        "rampart.agents",
        "rampart.rollout.rules",
        "rampart.trading",
    }


def test_baseline_round_trips_through_json() -> None:
    counts = tc.count(tc.parse_errors(OUTPUT), STRICT)
    assert tc.load_baseline(tc.dump_baseline(counts)) == counts


def test_the_committed_baseline_has_no_strict_package_entries() -> None:
    baseline = tc.load_baseline((ROOT / "requirements" / "mypy-baseline.json").read_text())
    strict = tc.strict_modules((ROOT / "mypy.ini").read_text())
    assert not [path for path, _ in baseline if tc.is_strict(path, strict)]
