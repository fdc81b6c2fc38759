"""`make audit` (scripts/audit.py): pip-audit's answers judged, and said plainly when it could
not check anything. pip-audit's own runs are replaced by the reports it writes."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("audit_script", ROOT / "scripts" / "audit.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["audit_script"] = module
    spec.loader.exec_module(module)
    return module


audit = _load()
CLEAN = {"name": "httpx", "version": "0.28.1", "vulns": []}
VULN = {
    "name": "jinja2",
    "version": "3.1.4",
    "vulns": [
        {"id": "GHSA-aaaa-bbbb-cccc", "aliases": ["CVE-2024-0001"], "fix_versions": ["3.1.5"]}
    ],
}
SKIPPED = {
    "name": "ccxt",
    "skip_reason": "Dependency not found on PyPI and could not be audited: ccxt (4.5.90)",
}


def test_nothing_known_is_a_pass() -> None:
    verdict = audit.judge(0, {"dependencies": [CLEAN]}, "", [])
    assert verdict.code == 0
    assert verdict.lines == ["No known vulnerabilities in the 1 locked packages (pypi)."]


def test_a_vulnerability_fails_with_its_fix() -> None:
    verdict = audit.judge(1, {"dependencies": [CLEAN, VULN]}, "", [])
    assert verdict.code == 1
    assert "VULNERABLE jinja2 3.1.4: GHSA-aaaa-bbbb-cccc / CVE-2024-0001 (fixed in 3.1.5)" in (
        verdict.lines
    )


def test_an_ignored_advisory_passes_with_its_reason_and_a_stale_one_is_named() -> None:
    ignores = audit.read_ignores(
        "# header\nCVE-2024-0001  # sandboxed templates only\nGHSA-gone-gone-gone  # old\n"
    )
    verdict = audit.judge(1, {"dependencies": [CLEAN, VULN]}, "", ignores)
    assert verdict.code == 0
    text = "\n".join(verdict.lines)
    assert "ignored, sandboxed templates only" in text
    assert "GHSA-gone-gone-gone, which no locked package has any more" in text


def test_an_ignore_without_a_reason_is_refused() -> None:
    with pytest.raises(SystemExit, match="has no reason"):
        audit.read_ignores("GHSA-aaaa-bbbb-cccc\n")


def test_skipped_packages_are_not_a_pass_even_when_pip_audit_says_so() -> None:
    # pip-audit prints "No known vulnerabilities found" and exits 0 when the database does not
    # know any package: the service answered, but about nothing.
    nothing = audit.judge(0, {"dependencies": [SKIPPED, {**SKIPPED, "name": "rich"}]}, "", [])
    assert nothing.code == 2
    assert (
        "could not reach its vulnerability database (pypi) for any of the 2" in (nothing.lines[-1])
    )
    assert "Nothing was checked" in nothing.lines[-1]
    some = audit.judge(0, {"dependencies": [CLEAN, SKIPPED]}, "", [])
    assert some.code == 2 and "checked 1 of 2 locked packages" in some.lines[-1]


def test_an_unreachable_database_is_a_sentence() -> None:
    stderr = (
        "Traceback (most recent call last):\n  ...\nrequests.exceptions.ConnectionError: "
        "HTTPSConnectionPool(host='osv.invalid', port=443): Max retries exceeded\n"
    )
    verdict = audit.judge(1, None, stderr, [])
    assert verdict.code == 2
    (line,) = verdict.lines
    assert line.startswith("pip-audit could not reach its vulnerability database")
    assert "Nothing was checked" in line


def test_main_says_the_verdict(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(audit, "install_pip_audit", lambda: Path("pip-audit"))
    code = audit.main(runner=lambda exe: (0, {"dependencies": [CLEAN]}, ""))
    assert code == 0 and "No known vulnerabilities" in capsys.readouterr().out


def test_make_audit_runs_the_script() -> None:
    makefile = (ROOT / "Makefile").read_text()
    assert "\naudit:\n\t$(PY) scripts/audit.py\n" in makefile
