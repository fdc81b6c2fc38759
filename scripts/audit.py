"""`make audit`: the locked dependencies checked against a vulnerability database by pip-audit.

pip-audit (pinned below) is installed into its own venv, var/audit-tools, never into .venv or
the lock. It reads requirements/lock.txt as it is (every package pinned with hashes, so no
resolver runs) and asks its vulnerability service about each package (PyPI's JSON API by
default; AUDIT_SERVICE=osv for OSV). What it says is judged here:

- exit 0: every package was checked and nothing is vulnerable, or only what the ignore list
  (requirements/audit-ignore.txt: one advisory id a line, with the reason) accepts;
- exit 1: a vulnerability, with the versions that fix it;
- exit 2: the audit could not be done, said plainly: pip-audit could not be installed, its
  vulnerability database could not be reached, or it could not answer for some packages
  (pip-audit itself reports those as skipped and still says "No known vulnerabilities").

    python3 scripts/audit.py
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOCK = ROOT / "requirements" / "lock.txt"
IGNORES = ROOT / "requirements" / "audit-ignore.txt"
TOOLS = ROOT / "var" / "audit-tools"
PIP_AUDIT = "pip-audit==2.10.1"
UNREACHABLE = re.compile(
    r"ConnectionError|NameResolutionError|Max retries exceeded|timed out|Temporary failure in "
    r"name resolution|Name or service not known|Network is unreachable|SSLError",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class Ignore:
    advisory: str
    reason: str


@dataclass
class Verdict:
    code: int
    lines: list[str] = field(default_factory=list)


def read_ignores(text: str) -> list[Ignore]:
    """``ID  # why it does not apply to Rampart (and until when)``, one a line."""
    found = []
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        advisory, _, reason = line.partition("#")
        if not reason.strip():
            raise SystemExit(
                f"{IGNORES.name} line {number}: {advisory.strip()} has no reason; write why it "
                "does not apply after a '#'."
            )
        found.append(Ignore(advisory.strip(), reason.strip()))
    return found


def judge(
    returncode: int, report: dict[str, object] | None, stderr: str, ignores: list[Ignore]
) -> Verdict:
    """What pip-audit's run means (see the module)."""
    service = os.environ.get("AUDIT_SERVICE", "pypi")
    if report is None:
        reason = _last_line(stderr)
        if UNREACHABLE.search(stderr):
            return Verdict(
                2,
                [
                    f"pip-audit could not reach its vulnerability database ({service}): {reason}. "
                    "Nothing was checked; run `make audit` where that service can be reached."
                ],
            )
        return Verdict(2, [f"pip-audit failed ({reason}); nothing was checked."])
    deps = [d for d in report.get("dependencies", []) if isinstance(d, dict)]  # type: ignore[union-attr]
    skipped = [d for d in deps if d.get("skip_reason")]
    by_id = {i.advisory: i for i in ignores}
    used: set[str] = set()
    found: list[str] = []
    accepted: list[str] = []
    for dep in deps:
        for vuln in dep.get("vulns", []) or []:
            names = [vuln.get("id", "?"), *(vuln.get("aliases") or [])]
            hit = next((by_id[n] for n in names if n in by_id), None)
            fixes = ", ".join(vuln.get("fix_versions") or []) or "no fixed version yet"
            line = (
                f"{dep['name']} {dep.get('version', '?')}: {' / '.join(names)} (fixed in {fixes})"
            )
            if hit is None:
                found.append(line)
            else:
                used.add(hit.advisory)
                accepted.append(f"{line}: ignored, {hit.reason}")
    lines = [*(f"VULNERABLE {line}" for line in found), *(f"accepted {a}" for a in accepted)]
    stale = [i.advisory for i in ignores if i.advisory not in used]
    if stale and not skipped:
        lines.append(
            f"{IGNORES.name} lists {', '.join(stale)}, which no locked package has any more: "
            "remove them."
        )
    checked = len(deps) - len(skipped)
    if skipped:
        first = skipped[0]
        example = f"{first['name']}: {first['skip_reason']}"
        if checked == 0:
            lines.append(
                f"pip-audit could not reach its vulnerability database ({service}) for any of the "
                f"{len(deps)} locked packages ({example}). Nothing was checked, whatever it "
                "printed; run `make audit` where that service can be reached."
            )
        else:
            lines.append(
                f"pip-audit checked {checked} of {len(deps)} locked packages; its vulnerability "
                f"database ({service}) could not answer for {len(skipped)} ({example}). Those "
                "are unchecked."
            )
    if found:
        lines.append(f"{len(found)} known vulnerabilities in the locked packages: upgrade them.")
        return Verdict(1, lines)
    if skipped:
        return Verdict(2, lines)
    if returncode not in (0, 1):
        return Verdict(2, [*lines, f"pip-audit failed ({_last_line(stderr)})."])
    lines.append(f"No known vulnerabilities in the {len(deps)} locked packages ({service}).")
    return Verdict(0, lines)


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return (lines[-1] if lines else "no output")[:300]


def install_pip_audit() -> Path | None:
    """var/audit-tools/bin/pip-audit at the pinned version (installed on first use)."""
    exe = TOOLS / "bin" / "pip-audit"
    if exe.exists():
        done = subprocess.run([str(exe), "--version"], capture_output=True, text=True)
        if done.returncode == 0 and PIP_AUDIT.split("==")[1] in done.stdout:
            return exe
    steps = [
        [sys.executable, "-m", "venv", str(TOOLS)],
        [str(TOOLS / "bin" / "pip"), "install", "--quiet", PIP_AUDIT],
    ]
    for step in steps:
        done = subprocess.run(step, capture_output=True, text=True)
        if done.returncode != 0:
            print(f"Cannot install {PIP_AUDIT} ({_last_line(done.stderr)}); nothing was checked.")
            return None
    return exe


def run_pip_audit(exe: Path) -> tuple[int, dict[str, object] | None, str]:
    service = os.environ.get("AUDIT_SERVICE", "pypi")
    with tempfile.TemporaryDirectory() as work:
        out = Path(work) / "report.json"
        args = ["-r", str(LOCK), "--disable-pip", "--progress-spinner", "off", "-s", service]
        done = subprocess.run(
            [str(exe), *args, "-f", "json", "-o", str(out)],
            capture_output=True,
            text=True,
            timeout=900,
        )
        report = json.loads(out.read_text()) if out.is_file() and out.stat().st_size else None
    return done.returncode, report, done.stderr


def main(
    runner: Callable[[Path], tuple[int, dict[str, object] | None, str]] = run_pip_audit,
) -> int:
    ignores = read_ignores(IGNORES.read_text(encoding="utf-8"))
    exe = install_pip_audit()
    if exe is None:
        return 2
    verdict = judge(*runner(exe), ignores)
    print("\n".join(verdict.lines))
    return verdict.code


if __name__ == "__main__":
    sys.exit(main())
