"""Type checks src/ with mypy against a committed baseline that can only shrink.

Why: the money and safety packages (the strict sections of mypy.ini) must type check with no
errors at all, but the rest of the tree still had about 200 errors when checking started.
Rather than ignore them, requirements/mypy-baseline.json counts them per (file, error code):
a run fails when any count grows, so no new error gets in, and says when counts shrink, so
the gain can be locked in with `--update`. Counts, not line numbers, keep the baseline
stable while code moves. An error in a strict package fails whatever the baseline says.

    .venv/bin/python scripts/typecheck.py            # check (exit 1 on failure)
    .venv/bin/python scripts/typecheck.py --update   # rewrite the baseline from this run
"""

from __future__ import annotations

import argparse
import configparser
import json
import re
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "mypy.ini"
BASELINE = ROOT / "requirements" / "mypy-baseline.json"
ERROR = re.compile(
    r"^(?P<path>[^:\n]+):(?P<line>\d+)(?::\d+)?: error: (?P<message>.*?)"
    r"(?:  \[(?P<code>[a-z0-9-]+)\])?$"
)

Key = tuple[str, str]
"""(file, error code)"""


@dataclass(frozen=True)
class MypyError:
    path: str
    line: int
    code: str
    text: str
    """The whole line mypy printed."""

    @property
    def key(self) -> Key:
        return (self.path, self.code)


@dataclass(frozen=True)
class Verdict:
    ok: bool
    message: str
    fewer: int = 0
    """How many fewer errors than the baseline allows (0 when it fails or nothing shrank)."""


def parse_errors(output: str) -> list[MypyError]:
    """The error lines of mypy's output (notes and the summary line are dropped)."""
    errors = []
    for line in output.splitlines():
        m = ERROR.match(line)
        if m:
            path = m.group("path").replace("\\", "/")
            code = m.group("code") or "no-code"
            errors.append(MypyError(path, int(m.group("line")), code, line))
    return errors


def strict_modules(config_text: str) -> tuple[str, ...]:
    """The module prefixes mypy.ini checks strictly: its sections with disallow_untyped_defs."""
    parser = configparser.ConfigParser()
    parser.read_string(config_text)
    found = []
    for section in parser.sections():
        if section.startswith("mypy-") and parser.getboolean(
            section, "disallow_untyped_defs", fallback=False
        ):
            found.append(section.removeprefix("mypy-").removesuffix(".*"))
    return tuple(found)


def module_of(path: str) -> str:
    """`src/rampart/risk/engine.py` -> `rampart.risk.engine`."""
    parts = Path(path).with_suffix("").parts
    if parts and parts[0] == "src":
        parts = parts[1:]
    if parts and parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def is_strict(path: str, strict: tuple[str, ...]) -> bool:
    module = module_of(path)
    return any(module == s or module.startswith(s + ".") for s in strict)


def count(errors: list[MypyError], strict: tuple[str, ...]) -> Counter[Key]:
    """Errors per (file, code), leaving out strict packages (never baselined)."""
    return Counter(e.key for e in errors if not is_strict(e.path, strict))


def compare(baseline: Counter[Key], errors: list[MypyError], strict: tuple[str, ...]) -> Verdict:
    """Fails on any error in a strict package and on any (file, code) count above baseline."""
    current = count(errors, strict)
    strict_errors = [e for e in errors if is_strict(e.path, strict)]
    grown = sorted(k for k in current if current[k] > baseline[k])
    problems: list[str] = []
    if strict_errors:
        problems.append(
            f"{len(strict_errors)} error(s) in strictly checked packages "
            "(these are never baselined; fix them):"
        )
        problems += [f"  {e.text}" for e in strict_errors]
    for path, code in grown:
        allowed = baseline[(path, code)]
        problems.append(
            f"{path} has {current[(path, code)]} [{code}] error(s), the baseline allows "
            f"{allowed}; new errors are among these:"
        )
        problems += [f"  {e.text}" for e in errors if e.key == (path, code)]
    if grown:
        problems.append(
            "Fix the new errors. Only if one truly cannot be fixed now, run "
            "`scripts/typecheck.py --update` and commit the baseline with a reason."
        )
    if problems:
        return Verdict(
            False, "FAIL: mypy errors the baseline does not allow.\n" + "\n".join(problems)
        )
    fewer = sum(baseline.values()) - sum(current.values())
    total = sum(current.values())
    if fewer > 0:
        return Verdict(
            True,
            f"PASS: {total} baselined error(s), none new. {fewer} fewer errors than the "
            "baseline; run `scripts/typecheck.py --update` to lock in the gain.",
            fewer,
        )
    return Verdict(True, f"PASS: {total} baselined error(s), none new.")


def load_baseline(text: str) -> Counter[Key]:
    data = json.loads(text)["counts"]
    return Counter({(path, code): n for path, codes in data.items() for code, n in codes.items()})


def dump_baseline(counts: Counter[Key]) -> str:
    by_file: dict[str, dict[str, int]] = {}
    for (path, code), n in sorted(counts.items()):
        if n > 0:
            by_file.setdefault(path, {})[code] = n
    data = {
        "about": "mypy errors per file and error code that scripts/typecheck.py tolerates; "
        "may only shrink. Regenerate with `scripts/typecheck.py --update`.",
        "counts": by_file,
    }
    return json.dumps(data, indent=2) + "\n"


def run_mypy() -> tuple[int, str]:
    proc = subprocess.run(
        [sys.executable, "-m", "mypy", "--config-file", str(CONFIG)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    return proc.returncode, proc.stdout + proc.stderr


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--update", action="store_true", help="rewrite the baseline")
    args = parser.parse_args(argv)
    status, output = run_mypy()
    errors = parse_errors(output)
    if status not in (0, 1) or (status == 1 and not errors):
        print(f"FAIL: mypy did not run to the end (exit {status}):\n{output}")
        return 1
    strict = strict_modules(CONFIG.read_text())
    if args.update:
        BASELINE.write_text(dump_baseline(count(errors, strict)))
        print(f"Wrote {BASELINE.relative_to(ROOT)}: {sum(count(errors, strict).values())} errors.")
    baseline = load_baseline(BASELINE.read_text()) if BASELINE.exists() else Counter[Key]()
    verdict = compare(baseline, errors, strict)
    print(verdict.message)
    return 0 if verdict.ok else 1


if __name__ == "__main__":
    sys.exit(main())
